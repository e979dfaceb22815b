from __future__ import annotations

import pytest

from index.question_shapes import (
    Shape,
    asks_future,
    full_names,
    holds_answer,
    measured_in,
    parse,
)


@pytest.mark.parametrize(
    ("question", "shape", "subject", "topic"),
    [
        ("what did Zakharova say about peace talks?", Shape.SAID, "Zakharova", "peace talks"),
        ("How did Kyiv react?", Shape.SAID, "Kyiv", None),
        ("What did Putin say Russia must do?", Shape.SAID, "Putin", "Russia must do"),
        (
            "how did ukraine's top general describe progress inside russia",
            Shape.SAID,
            "ukraine's top general",
            "progress inside russia",
        ),
        (
            "according to the kremlin adviser, what would talks hinge on",
            Shape.SAID,
            "the kremlin adviser",
            "what would talks hinge on",
        ),
        ("Did Putin think the attack worked?", Shape.SAID, "Putin", "the attack worked"),
        ("Who is Yuri Ushakov?", Shape.WHO_IS, "Yuri Ushakov", None),
        ("who said the talks are off?", Shape.WHO_SAID, None, "the talks are off"),
        ("How many prisoners were taken?", Shape.NUMBER, None, None),
        ("What is the population of Kursk?", Shape.NUMBER, None, None),
        ("what's the death toll in Belgorod", Shape.NUMBER, None, None),
        ("When did the incursion start?", Shape.DATE, None, None),
        ("Where did Putin speak?", Shape.PLACE, None, None),
        ("What is the name of the Belgorod governor?", Shape.NAME, None, None),
        ("Was Russia prepared for the attack?", Shape.OTHER, None, None),
    ],
)
def test_the_shape_of_a_question(
    question: str, shape: Shape, subject: str | None, topic: str | None
) -> None:
    asked = parse(question)
    assert (asked.shape, asked.subject, asked.topic) == (shape, subject, topic)


def test_a_question_about_what_is_to_come() -> None:
    assert asks_future("When will the next round of talks take place?")
    assert asks_future("when are they going to meet again")
    assert not asks_future("When did the talks in Istanbul take place?")


def test_full_names_are_runs_of_capitalized_words() -> None:
    sentence = "The commander, General Oleksandr Syrskyi, spoke in Kursk on Friday."
    assert full_names(sentence) == ["General Oleksandr Syrskyi"]
    assert holds_answer(Shape.NAME, sentence)
    assert not holds_answer(Shape.NAME, "The regional governor declared a state of emergency.")


@pytest.mark.parametrize(
    ("question", "sentence", "holds"),
    [
        (
            "what day did syrskyi report the advance",
            "Syrskyi said on Friday his troops had advanced",
            True,
        ),
        (
            "what day did syrskyi report the advance",
            "troops advanced 2 km in the past 24 hours",
            False,
        ),
        ("On which date did it start?", "It began on August 6 at dawn", True),
        ("How much land did Ukraine seize?", "It captured over a thousand square km", True),
        ("How much land did Ukraine seize?", "Troops advanced up to 2 kilometers", False),
        ("how much russian territory was taken", "1,000 sq km of territory", True),
    ],
)
def test_what_the_answer_is_measured_in(question: str, sentence: str, holds: bool) -> None:
    measure = measured_in(question)
    assert measure is not None
    assert (measure.search(sentence) is not None) is holds


def test_most_questions_need_no_measure_beyond_their_shape() -> None:
    assert measured_in("How much did the talks cost?") is None
    assert measured_in("When did the attack happen?") is None
