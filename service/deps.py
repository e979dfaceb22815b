"""Dependencies the routes declare, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from index.engine import NewsIndex
from service.state import ServiceState


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.byline
    return state


def get_index(state: Annotated[ServiceState, Depends(get_state)]) -> NewsIndex:
    return state.index


StateDep = Annotated[ServiceState, Depends(get_state)]
IndexDep = Annotated[NewsIndex, Depends(get_index)]
