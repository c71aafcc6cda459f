"""The positions tables' query parameters: sort, filters and the page, one model per table.

The Positions page and the Overview's table (and their HTMX partials) read ``request.args``
through these models, so a page size out of range is refused with the field and its range, as
every other parameter model refuses, instead of silently becoming the default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, TypeVar

from pydantic import Field, field_validator

from webapp.schemas.params import POSITION_TYPES, ParamError, QueryParams
from webapp.services.positions import SORTABLE

MAX_PAGE = 100_000
MIN_PER_PAGE, MAX_PER_PAGE = 5, 200
LABELS = {
    "sort": "Sort column",
    "dir": "Sort direction",
    "type": "Type",
    "tag": "Tag",
    "strategy": "Strategy",
    "page": "Page",
    "per_page": "Rows per page",
}


class PositionsTableParams(QueryParams):
    """The Overview's positions table (15 rows a page by default)."""

    sort: Literal[SORTABLE] = Field(  # type: ignore[valid-type]
        "weight", description="Column to sort by (missing values last, ties in id order)."
    )
    dir: Literal["asc", "desc"] = Field("desc", description="Sort direction.")
    type: Literal[POSITION_TYPES] | None = Field(  # type: ignore[valid-type]
        None, description="Only this position type."
    )
    tag: str | None = Field(None, max_length=60, description="Only positions with this tag.")
    strategy: str | None = Field(None, max_length=120, description="Only this strategy.")
    page: int = Field(1, ge=1, le=MAX_PAGE, description="Page number (past the end: the last).")
    per_page: int = Field(15, ge=MIN_PER_PAGE, le=MAX_PER_PAGE, description="Rows per page.")

    @field_validator("type", "tag", "strategy", mode="before")
    @classmethod
    def _blank_is_all(cls, value):
        # The filter form sends "All" as an empty value.
        return None if value == "" else value

    def service_args(self) -> dict:
        """The keyword arguments of ``services.positions.positions_page``."""
        return {
            "sort": self.sort,
            "direction": self.dir,
            "position_type": self.type,
            "tag": self.tag,
            "strategy": self.strategy,
            "page": self.page,
            "per_page": self.per_page,
        }


class PositionsPageParams(PositionsTableParams):
    """The Positions page's table (50 rows a page by default)."""

    per_page: int = Field(50, ge=MIN_PER_PAGE, le=MAX_PER_PAGE, description="Rows per page.")


M = TypeVar("M", bound=PositionsTableParams)


def table_params(model: type[M], args: Mapping[str, str]) -> tuple[M, ParamError | None]:
    """``args`` through ``model``; a bad field takes its default and is reported, the rest stay.

    A page size of 500 shows the first page at the default size with the error beside the
    control, still sorted and filtered as asked.
    """
    args = dict(args)
    first: ParamError | None = None
    for _ in range(len(model.model_fields) + 1):
        try:
            return model.parse(args), first
        except ParamError as exc:
            first = first or exc
            args.pop(exc.field, None)
            if exc.field in ("per_page", "sort", "dir", "type", "tag", "strategy"):
                args.pop("page", None)  # another size or order: page N means other rows
    return model.defaults(), first


def page_error(error: ParamError | None) -> dict | None:
    """The error as the page shows it: the field and a sentence naming its control."""
    if error is None:
        return None
    if "allowed" in error.details or "min" in error.details:
        message = error.in_words(LABELS)
    else:
        message = f"{LABELS.get(error.field, error.field)} is not a valid value."
    return {"field": error.field, "message": message}


__all__ = ["PositionsPageParams", "PositionsTableParams", "page_error", "table_params"]
