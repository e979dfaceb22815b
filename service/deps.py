"""Dependencies the routes declare, as `Annotated` aliases."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, Query, Request

from index.engine import NewsIndex
from service.state import ServiceState


# Both are `async def` though they never await: FastAPI runs a plain `def` dependency in the
# worker thread pool, two thread hand-offs per request for an attribute read.
async def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.byline
    return state


async def get_index(state: Annotated[ServiceState, Depends(get_state)]) -> NewsIndex:
    return state.index


StateDep = Annotated[ServiceState, Depends(get_state)]
IndexDep = Annotated[NewsIndex, Depends(get_index)]


# The filters every listing and search takes as query parameters, declared once.
AfterParam = Annotated[
    date | datetime | None, Query(description="ISO date or date-time, inclusive.")
]
BeforeParam = Annotated[
    date | datetime | None, Query(description="ISO date or date-time, exclusive.")
]
PublisherParam = Annotated[
    list[str] | None, Query(description="Only these publishers (repeat the parameter).")
]
