"""Who said what: the people and organisations the articles quote, and their statements."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service import application
from service.deps import AfterParam, BeforeParam, PublisherParam, StateDep
from service.schemas import ERROR_RESPONSES, SpeakerList, StatementsRequest, StatementsResponse

router = APIRouter(tags=["statements"], responses=ERROR_RESPONSES)

MAX_PAGE = 500


@router.get(
    "/speakers",
    operation_id="list_speakers",
    summary="The people and organisations the articles quote",
    description=(
        "Speakers by number of statements, with the role the articles give them; `q` finds a "
        "name by any of its words."
    ),
)
def list_speakers(
    state: StateDep,
    q: Annotated[str | None, Query(max_length=200, description="Part of a name.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size.")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000, description="Speakers to skip.")] = 0,
) -> SpeakerList:
    return application.speakers(state, q, limit, offset)


@router.get(
    "/statements",
    operation_id="who_said",
    summary="What a person or organisation said, optionally about a topic",
    description=(
        "Statements attributed to the speaker (full name or surname, case-insensitive), "
        "direct quotations and reported speech, best match for `q` first (newest first "
        "without one). `quote` is exactly the article's text[char_start:char_end], and "
        "text[speaker_start:speaker_end] is where the article names the speaker. An unknown "
        "speaker is an empty list."
    ),
)
def who_said(
    state: StateDep,
    speaker: Annotated[str, Query(min_length=1, max_length=200, description="Who.")],
    q: Annotated[str | None, Query(max_length=2000, description="About what.")] = None,
    k: Annotated[int, Query(ge=1, le=50, description="How many statements.")] = 5,
    published_after: AfterParam = None,
    published_before: BeforeParam = None,
    publisher: PublisherParam = None,
) -> StatementsResponse:
    request = application.make(
        StatementsRequest,
        given_as="query",
        speaker=speaker,
        q=q,
        k=k,
        published_after=published_after,
        published_before=published_before,
        publisher=publisher,
    )
    return application.statements(state, request)
