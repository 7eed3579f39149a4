"""The live catalog sources' status (DESIGN §3c)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ApiStateDep

router = APIRouter(prefix="/api/v1", tags=["ownership"])


@router.get("/catalog/status")
def catalog_status(state: ApiStateDep) -> dict[str, Any]:
    """Each live source: when it last synced whole, the entities in the snapshot in use, the last attempt's errors."""
    return {"catalog_complete": state.catalog.complete,
            "sources": [status.to_dict() for status in state.catalog.status()]}
