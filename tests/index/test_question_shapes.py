from __future__ import annotations

import pytest

from index.question_shapes import Shape, asks_future, full_names, holds_answer, parse


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
