from __future__ import annotations

import pytest

from index.answerability import (
    Answerability,
    content_words,
    counted_action,
    counted_noun,
    coverage,
    mentions,
    names,
)
from index.embedding import Embedder


@pytest.fixture(scope="module")
def answerability(embedder: Embedder) -> Answerability:
    return Answerability(embedder)


def test_names_skip_the_first_word_and_adjectives_of_nationality() -> None:
    assert names("How many Russian soldiers died in Kursk's villages?") == ["Kursk"]
    assert names("Where did Putin meet Erdogan?") == ["Putin", "Erdogan"]


def test_a_name_is_mentioned_by_its_inflections_but_not_by_a_lookalike() -> None:
    assert mentions("Ukrainian forces advanced", "Ukraine")
    assert mentions("Russia's foreign ministry", "Russian")
    assert mentions("strikes on Belgorod", "Belgorod")
    assert not mentions("strikes on Belgorod", "Kursk")
    assert not mentions("the Kremlin said", "Kremenchuk")


@pytest.mark.parametrize(
    ("question", "noun"),
    [
        ("How many Russian soldiers were taken captive?", "soldiers"),
        ("how many people died when Belgorod was hit", "people"),
        ("How many settlements did Ukraine take?", "settlements"),
        ("How many were killed?", None),
        ("What is the number of Russian soldiers in captivity?", "soldiers"),
        ("What is the population of the city of Kursk?", "population"),
        ("How much land did Ukraine seize?", None),
        ("When did the attack happen?", None),
    ],
)
def test_the_counted_noun_is_what_how_many_counts(question: str, noun: str | None) -> None:
    assert counted_noun(question) == noun


@pytest.mark.parametrize(
    ("question", "action"),
    [
        ("how many civilians have died in the kursk region since august 6", ["died"]),
        ("How many Russian soldiers have been killed in the Kursk region?", ["killed"]),
        ("How many people died when Belgorod was hit?", ["died"]),
        ("how many prisoners has ukraine swapped since the incursion", ["ukraine", "swapped"]),
        ("How many Russian troops were sent to defend Kursk", ["sent"]),
        # "of war" belongs to what is counted; "been through" says nothing.
        ("How many days of war had Ukraine been through by then?", ["ukraine"]),
        ("How many tanks?", []),
        ("When did the attack happen?", []),
    ],
)
def test_the_action_is_what_how_many_asks_was_done(question: str, action: list[str]) -> None:
    assert counted_action(question) == action


def test_a_count_answers_only_when_it_tells_of_the_action(answerability: Answerability) -> None:
    crossed = "Thousands of Ukrainian soldiers crossed the Russian border."
    assert not answerability.tells(crossed, ["died"])
    assert answerability.tells("Five persons were killed and 46 injured.", ["died"])
    # "ukraine" is named by "Ukrainian", so only "swapped" is asked, and "taking" is not it.
    taking = "Ukrainian forces captured 1,000 square km, taking 600 prisoners of war."
    assert not answerability.tells(taking, ["ukraine", "swapped"])
    assert answerability.tells(taking, ["ukraine", "take"])
    assert answerability.tells(crossed, [])


def test_a_number_counts_the_noun_or_a_near_synonym(answerability: Answerability) -> None:
    sentence = "Kyiv captured over a thousand square km while taking over 600 prisoners of war."
    assert answerability.counts(sentence, "prisoners")
    assert answerability.counts("Five persons were killed and 46 injured.", "people")
    assert not answerability.counts(sentence, "tanks")
    # A number counts only within its clause, and "one of" counts nothing.
    assert not answerability.counts("It took 100 villages, while troops pressed on.", "troops")
    assert not answerability.counts("One of the goals was to divert Russian forces.", "forces")


def test_coverage_prefers_the_sentence_that_speaks_to_the_question(embedder: Embedder) -> None:
    asked = content_words("Did Russia mention any danger to nuclear plants?")
    assert "russia" in asked
    assert "did" not in asked
    close, far = coverage(
        asked,
        [
            content_words("Russia warned of threats to nuclear power facilities."),
            content_words("The governor declared a state of emergency."),
        ],
        embedder,
    )
    assert close > far
    assert close <= 1.0
