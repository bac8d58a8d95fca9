"""The catalog API: search the 140 items, and one item with its latest operating guide.

Thin: each route calls services.catalog with a unit of work; a missing item or a bad
filter is a DomainError that the app's handler turns into problem+json. The catalog and its
guides are public information (政务公开), so these routes ask for no sign-in.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from tongban.services.catalog import items as catalog
from tongban.services.catalog.items import ItemDetail, ItemPage

from ..deps import UowDep
from .bodies import NO_CONTROL

router = APIRouter(prefix="/api/items", tags=["catalog"])


@router.get("", response_model=ItemPage)
def list_items(
    uow: UowDep,
    q: Annotated[
        str | None,
        Query(
            max_length=catalog.MAX_QUERY_CHARS,
            pattern=NO_CONTROL,
            description="Words of the code, name or scenario (all must match), e.g. 公证.",
        ),
    ] = None,
    unit: Annotated[
        str | None,
        Query(max_length=50, pattern=NO_CONTROL, description="Part of a lead or cooperating unit."),
    ] = None,
    batch: Annotated[int | None, Query(ge=1, le=3, description="清单批次 1, 2 or 3.")] = None,
    mode: Annotated[
        Literal["proxy", "joint", "online"] | None,
        Query(description="A handling mode the item's guide supports."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=catalog.MAX_LIMIT)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ItemPage:
    """Catalog items matching every filter given, in catalog order (batch, seq)."""
    return catalog.search_items(
        uow, q=q, unit=unit, batch=batch, mode=mode, limit=limit, offset=offset
    )


@router.get("/{code}", response_model=ItemDetail)
def get_item(
    uow: UowDep,
    code: Annotated[
        str, Path(max_length=16, pattern=NO_CONTROL, description="事项编码, e.g. 1-01")
    ],
) -> ItemDetail:
    """One item with its latest guide: config (front matter), Markdown body and status."""
    return catalog.item_detail(uow, code)
