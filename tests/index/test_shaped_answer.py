from __future__ import annotations

import pytest

from index.answer import Answer, ExtractiveAnswerer
from index.embedding import Embedder
from index.engine import NewsIndex
from index.shaped_answer import ShapedAnswerer


@pytest.fixture(scope="module")
def answerer(embedder: Embedder, seed_index: NewsIndex) -> ShapedAnswerer:
    extractive = ExtractiveAnswerer(embedder, knows=seed_index.knows)
    return ShapedAnswerer(seed_index, extractive, knows=seed_index.knows)


def _ask(answerer: ShapedAnswerer, index: NewsIndex, question: str) -> Answer:
    """The answer, its quotes checked against the articles."""
    answer = answerer.answer(question, index.search(question, answerer.depth))
    for quote in answer.quotes:
        assert quote.document.text[quote.start : quote.end] == quote.text
    return answer


def test_a_speaker_named_by_role_answers_with_their_statements(
    answerer: ShapedAnswerer, seed_index: NewsIndex
) -> None:
    answer = _ask(answerer, seed_index, "What did NATO's chief say?")
    assert answer.answerable
    assert {q.speaker for q in answer.quotes} == {"Jens Stoltenberg"}


@pytest.mark.parametrize(
    "question",
    [
        # The articles count prisoners, settlements and kilometres, never helicopters.
        "How many helicopters did Ukraine lose in Kursk?",
        # Five were killed in Belgorod; the articles give no toll for Kursk.
        "How many people were killed in Kursk?",
        # "the population" asks for a count of people, and no article gives one.
        "What is the population of the city of Kursk?",
        # Thousands of soldiers crossed the border: a count, but not of the dead.
        "how many civilians have died in the kursk region since august 6",
        # 600 were taken prisoner; no article says how many were swapped.
        "how many prisoners has ukraine swapped since the incursion",
    ],
)
def test_a_number_that_counts_something_else_is_not_an_answer(
    answerer: ShapedAnswerer, seed_index: NewsIndex, question: str
) -> None:
    answer = _ask(answerer, seed_index, question)
    assert not answer.answerable
    assert answer.shape == "number"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # A number that counts what is asked.
        ("How many prisoners of war did Ukraine take?", "600"),
        # A full name the question does not give.
        ("What is the name of Ukraine's top general?", "Syrskyi"),
        # A day, not "over the past 24 hours" of the other article's sentence.
        ("what day did syrskyi report the 2 km advance", "Friday"),
    ],
)
def test_the_sentence_that_holds_what_is_asked_is_the_answer(
    answerer: ShapedAnswerer, seed_index: NewsIndex, question: str, expected: str
) -> None:
    answer = _ask(answerer, seed_index, question)
    assert answer.answerable
    assert answer.text is not None
    assert expected in answer.text


def test_a_name_is_withheld_when_no_article_gives_one(
    answerer: ShapedAnswerer, seed_index: NewsIndex
) -> None:
    # The articles speak of "the regional governor" of Belgorod and never name them.
    answer = _ask(answerer, seed_index, "What is the name of the Belgorod governor?")
    assert answer.shape == "name"
    assert not answer.answerable


def test_a_role_typed_in_lower_case_finds_its_speaker(
    answerer: ShapedAnswerer, seed_index: NewsIndex
) -> None:
    # "ukraine" is capitalized in the speaker's role ("Ukraine's armed forces commander
    # General Oleksandr Syrskyi"); the articles spell his name two ways.
    answer = _ask(answerer, seed_index, "what did ukraine's top general say")
    assert answer.answerable
    speakers = {q.speaker for q in answer.quotes}
    assert speakers
    assert speakers <= {"Oleksandr Syrskyi", "Oleksandr Sirsky"}


@pytest.mark.parametrize(
    ("question", "speaker"),
    [
        # "the Russian Foreign Ministry" speaks too; its spokeswoman is Maria Zakharova.
        (
            "what did the russian foreign ministry spokeswoman say about negotiating with kyiv",
            "Maria Zakharova",
        ),
        # "the Kremlin" speaks too; its adviser is Yuri Ushakov.
        ("according to the kremlin adviser, what would any future talks hinge on", "Yuri Ushakov"),
    ],
)
def test_a_member_of_an_organisation_is_not_the_organisation(
    answerer: ShapedAnswerer, seed_index: NewsIndex, question: str, speaker: str
) -> None:
    answer = _ask(answerer, seed_index, question)
    assert answer.answerable
    assert {q.speaker for q in answer.quotes} == {speaker}


def test_an_adjective_of_nationality_is_not_an_unknown_name(
    answerer: ShapedAnswerer, seed_index: NewsIndex
) -> None:
    # No article says "American"; they say "the United States".
    answer = _ask(answerer, seed_index, "What did Putin say about American and European elites?")
    assert answer.answerable
