"""Query parameter models: the one definition of each analytics endpoint's parameters.

A page, its HTMX partial and its JSON twin validate ``request.args`` through the same model
(``parse``), so the same input gets the same answer: the API answers 400 with the field and
its range, the page shows the same message beside the control. The OpenAPI document takes
each parameter's schema from the model (``query_parameters``), so it cannot drift either.
Ranges are the reference contract's (the reference backlog, section 3.0.3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal, Mapping, TypeVar

import annotated_types
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from webapp.analytics.scenarios import CATEGORIES, load_scenarios
from webapp.services.book_list import SORT_KEYS
from webapp.services.management import POSITION_STATUSES, TRANSACTION_KINDS
from webapp.services.market_views import MAX_PAYLOAD_BYTES

M = TypeVar("M", bound="QueryParams")


@dataclass
class ParamError(Exception):
    """A query parameter that fails its model: the field, a message in words, the details."""

    field: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def in_words(self, labels: Mapping[str, str]) -> str:
        """The message for a page: the control's label instead of the parameter name."""
        d = self.details
        label = labels.get(self.field, self.field)
        if "must not exceed" in self.message:
            return (
                f"{label} must be a whole number from {d['min']} to {d['max']}: "
                f"no more than the look-back ({d['max']} days)."
            )
        if "unknown" in d:
            return f"{label}: unknown {', '.join(d['unknown'])}."
        if "allowed" in d:
            allowed = ", ".join(str(a).replace("_", " ") for a in d["allowed"])
            return f"{label} must be one of: {allowed}."
        return f"{label} must be a whole number from {d['min']} to {d['max']}."


class QueryParams(BaseModel):
    """A frozen set of query parameters; unknown parameters are ignored, as browsers send extras.

    ``cross_limits`` names the fields whose maximum is another field's value (documented in
    the OpenAPI description, since JSON Schema cannot state it).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)
    cross_limits: ClassVar[dict[str, str]] = {}

    @classmethod
    def parse(cls: type[M], args: Mapping[str, str]) -> M:
        """Validate ``args`` (e.g. ``request.args``); ``ParamError`` for the first bad field."""
        try:
            return cls.model_validate({k: args[k] for k in cls.model_fields if k in args})
        except ValidationError as exc:
            raise cls._error(exc, args) from None

    @classmethod
    def defaults(cls: type[M]) -> M:
        """The model with every default (what a page shows beside an error)."""
        return cls()

    @classmethod
    def bounds(cls, name: str) -> tuple[int | None, int | None]:
        """The declared (minimum, maximum) of a field (None where unbounded)."""
        lo = hi = None
        for meta in cls.model_fields[name].metadata:
            if isinstance(meta, annotated_types.Ge):
                lo = meta.ge
            elif isinstance(meta, annotated_types.Le):
                hi = meta.le
        return lo, hi

    @classmethod
    def _error(cls, exc: ValidationError, args: Mapping[str, str]) -> ParamError:
        err = exc.errors(include_url=False)[0]
        name = str(err["loc"][0]) if err["loc"] else ""
        raw = args.get(name)
        lo, hi = cls.bounds(name)
        if err["type"] == "literal_error":
            prop = _plain_optional(dict(cls.model_json_schema()["properties"][name]))
            allowed = list(prop["enum"])
            return ParamError(
                name,
                f"'{name}' must be one of: {', '.join(allowed)}",
                {"field": name, "value": raw, "allowed": allowed},
            )
        if err["type"] == "unknown_values":
            unknown = err["ctx"]["unknown"]
            return ParamError(name, err["msg"], {"field": name, "unknown": unknown})
        if err["type"] == "missing":
            return ParamError(name, f"'{name}' is required", {"field": name})
        if err["type"] in ("string_too_long", "string_pattern_mismatch", "string_too_short"):
            return ParamError(name, f"'{name}' is not a valid value", {"field": name, "value": raw})
        if err["type"] == "cross_limit":
            limit_field = cls.cross_limits[name]
            hi = err["ctx"]["limit"]
            message = f"'{name}' must not exceed {limit_field} ({hi})"
        else:
            message = f"'{name}' must be an integer between {lo} and {hi}"
            if err["type"] in ("greater_than_equal", "less_than_equal"):
                message = f"'{name}' must be between {lo} and {hi}"
        value: Any = raw
        try:
            value = int(raw) if raw is not None else None
        except ValueError:
            pass
        return ParamError(name, message, {"field": name, "value": value, "min": lo, "max": hi})


LOOKBACK_NOTE = "Trading days of returns in the window."


class CorrelationWindow(QueryParams):
    """The correlation look-back and the fewest common days a pair needs."""

    cross_limits: ClassVar[dict[str, str]] = {"min_overlap": "lookback_days"}

    lookback_days: int = Field(90, ge=30, le=365, description=LOOKBACK_NOTE)
    min_overlap: int = Field(
        30, ge=10, le=365, description="Fewest common trading days a pair needs."
    )

    @field_validator("min_overlap")
    @classmethod
    def _within_window(cls, value: int, info: ValidationInfo) -> int:
        # An overlap longer than the window could never be met: refused, not clamped.
        lookback = info.data.get("lookback_days")
        if lookback is not None and value > lookback:
            raise PydanticCustomError(
                "cross_limit", "must not exceed lookback_days", {"limit": lookback}
            )
        return value


class CorrelationMatrixParams(CorrelationWindow):
    """The heatmap: the window and how many of the largest holdings to show."""

    max_symbols: int = Field(25, ge=1, le=50, description="Show the top N holdings by |exposure|.")


class DiversificationParams(CorrelationWindow):
    """The diversification score: the window only (every modelled holding counts)."""


class RiskParams(QueryParams):
    """Risk metrics: the look-back (the contract's 30-252 trading days)."""

    lookback_days: int = Field(90, ge=30, le=252, description=LOOKBACK_NOTE)


class BookListParams(QueryParams):
    """The book list's order: a column and a direction."""

    sort: Literal[SORT_KEYS] = Field(  # type: ignore[valid-type]
        "name", description="Column to sort by; books without the figure come last."
    )
    order: Literal["asc", "desc"] = Field("asc", description="Ascending or descending.")


class ForwardRangeParams(QueryParams):
    """The forward range: which simulation to show (both are stored by every batch)."""

    method: Literal["bootstrap", "parametric"] = Field(
        "bootstrap",
        description="bootstrap: whole historical days drawn with replacement; parametric: "
        "multivariate normal with the history's mean and covariance of log returns.",
    )


#: The scenario library's ids, in library order (what ``scenarios`` may list).
SCENARIO_IDS: tuple[str, ...] = tuple(s.id for s in load_scenarios())
_SCENARIO_ID = "|".join(re.escape(i) for i in SCENARIO_IDS)


class StressParams(QueryParams):
    """Stress tests: one category of the library, or some scenario ids (unknown ids: 400)."""

    category: Literal[CATEGORIES] | None = Field(  # type: ignore[valid-type]
        None, description="Only this category of the scenario library."
    )
    scenarios: str | None = Field(
        None,
        max_length=2_000,
        # Stated as the library's ids; checked by _known_ids, which names the unknown ones.
        json_schema_extra={"pattern": f"^({_SCENARIO_ID})(,({_SCENARIO_ID}))*$"},
        description="Comma-separated scenario ids of the library (unknown ids are a 400); "
        "each named scenario carries its positions and move_explained rows.",
    )

    @field_validator("scenarios")
    @classmethod
    def _known_ids(cls, value: str | None) -> str | None:
        if value is None:
            return value
        unknown = [i for i in dict.fromkeys(value.split(",")) if i not in SCENARIO_IDS]
        if unknown:
            raise PydanticCustomError(
                "unknown_values",
                "Unknown scenario id(s): {listed}",
                {"listed": ", ".join(unknown[:10]), "unknown": unknown[:10]},
            )
        return value

    @property
    def scenario_ids(self) -> list[str] | None:
        """The ids asked for, in order, without repeats (None: every scenario)."""
        return list(dict.fromkeys(self.scenarios.split(","))) if self.scenarios else None


class HistoricalPricesParams(QueryParams):
    """GET /data/prices/historical/{id}: the window, truncation, format and page cursor."""

    lookback_days: int = Field(90, ge=1, le=1260, description=LOOKBACK_NOTE)
    max_symbols: int | None = Field(
        None, ge=1, le=500, description="Keep the N largest holdings (metadata says what was cut)."
    )
    date_format: Literal["iso", "unix"] = Field("iso", description="How dates are written.")
    include_factor_etfs: Literal["true", "false"] = Field(
        "false", description="Add the factor ETFs' prices under factor_etfs (first page)."
    )
    cursor: int = Field(
        0,
        ge=0,
        le=100_000,
        description="Start at this index of the largest-first symbol order: the previous "
        f"page's metadata.next_cursor (a page holds at most {MAX_PAYLOAD_BYTES:,} bytes).",
    )


class DataQualityParams(QueryParams):
    """GET /data/portfolio/{id}/data-quality."""

    lookback_days: int = Field(252, ge=20, le=1260, description=LOOKBACK_NOTE)


class EtfPricesParams(QueryParams):
    """GET /data/factors/etf-prices."""

    lookback_days: int = Field(30, ge=1, le=252, description=LOOKBACK_NOTE)


class Page(QueryParams):
    """``limit`` / ``offset`` paging of a list endpoint (answers carry ``total``)."""

    limit: int = Field(50, ge=1, le=200, description="Page size.")
    offset: int = Field(0, ge=0, le=2_147_483_647, description="Rows to skip.")


class PortfolioListParams(Page):
    """GET /management/portfolios."""


class ClientListParams(Page):
    """GET /management/clients."""


class HouseholdListParams(Page):
    """GET /management/households."""


POSITION_TYPES = ("LONG", "SHORT", "LC", "LP", "SC", "SP")
#: An optional ``portfolio_id`` filter: one of the caller's portfolios (else 404).
OwnPortfolioId = Annotated[
    int | None, Field(ge=1, le=2_147_483_647, description="Only this portfolio (yours, else 404).")
]


class PositionListParams(Page):
    """GET /management/positions: the caller's positions, filtered, grouped and paginated."""

    portfolio_id: OwnPortfolioId = None
    status: Literal["open", "closed", "all"] = Field("open", description="Open, closed or all.")
    position_type: Literal[POSITION_TYPES] | None = Field(  # type: ignore[valid-type]
        None, description="LONG, SHORT, LC, LP, SC or SP."
    )
    symbol: str | None = Field(
        None,
        max_length=32,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9.\- ]*$",
        description="The position's symbol or its underlying (case-insensitive).",
    )
    tag: str | None = Field(None, max_length=64, description="Only positions with this tag.")
    strategy: str | None = Field(None, max_length=120, description="Only this strategy.")
    group_by: Literal["type", "strategy", "tag"] | None = Field(
        None, description="Group the page's positions by type, strategy or tag."
    )


class PortfolioPositionsParams(QueryParams):
    """GET /management/portfolios/{id}/positions: open, closed or all, one tag or strategy."""

    status: Literal[POSITION_STATUSES] = Field(  # type: ignore[valid-type]
        "open", description="Open, closed or all."
    )
    tag: str | None = Field(None, max_length=64, description="Only positions with this tag.")
    strategy: str | None = Field(None, max_length=120, description="Only this strategy.")


class StrategyListParams(QueryParams):
    """GET /management/strategies."""

    portfolio_id: OwnPortfolioId = None


#: A ticker, class share (BRK-B, BRK.B) or OSI option symbol; spaces around it are ignored.
SYMBOL = r"[A-Za-z0-9][A-Za-z0-9.\-]{0,31}"
MAX_LIST_ITEMS = 100  # symbols in one comma-separated parameter
SYMBOL_LIST = rf"^ *{SYMBOL} *(, *{SYMBOL} *){{0,{MAX_LIST_ITEMS - 1}}}$"


def symbol_list(raw: str | None) -> list[str] | None:
    """A comma-separated symbol parameter as upper-case symbols, in order, without repeats."""
    if raw is None:
        return None
    return list(dict.fromkeys(part.strip().upper() for part in raw.split(",")))


class PositionDetailsParams(QueryParams):
    """GET /data/positions/details: the portfolio (required)."""

    portfolio_id: int = Field(ge=1, le=2_147_483_647, description="The portfolio (yours).")


class QuoteParams(QueryParams):
    """GET /data/prices/quotes: the symbols (required)."""

    symbols: str = Field(
        pattern=SYMBOL_LIST,
        max_length=4_000,
        description=f"Comma-separated symbols, e.g. AAPL,MSFT (at most {MAX_LIST_ITEMS}).",
    )

    @property
    def symbol_list(self) -> list[str]:
        """The symbols asked for, upper case, in order, without repeats."""
        return symbol_list(self.symbols) or []


class PositionFactorParams(QueryParams):
    """GET /analytics/portfolio/{id}/positions/factor-exposures: a page, some symbols."""

    limit: int = Field(50, ge=1, le=200, description="Page size.")
    offset: int = Field(0, ge=0, le=1_000_000, description="Rows to skip.")
    symbols: str | None = Field(
        None,
        pattern=SYMBOL_LIST,
        max_length=4_000,
        description="Only these symbols (comma-separated; a position's symbol or underlying).",
    )

    @property
    def symbol_list(self) -> list[str] | None:
        """The symbols asked for (None: every position)."""
        return symbol_list(self.symbols)


class ExportFormatParams(QueryParams):
    """GET /export/portfolio/{id}: the file format."""

    format: Literal["json", "csv", "xlsx"] = Field("json", description="File format.")


class TradeExportParams(QueryParams):
    """A trade list's format (POST /export/trades, GET /modeling/sessions/{id}/trades)."""

    format: Literal["json", "csv"] = Field("json", description="Output format.")


class BatchTargetParams(QueryParams):
    """The batch triggers and status: one of the caller's portfolios, or all of them."""

    portfolio_id: OwnPortfolioId = None


class BatchHistoryParams(BatchTargetParams):
    """GET /system/batch/history: how many runs, of one portfolio or all."""

    limit: int = Field(50, ge=1, le=500, description="How many runs.")


class LedgerParams(QueryParams):
    """GET /management/portfolios/{id}/transactions: a page of the ledger, one kind or all."""

    limit: int = Field(100, ge=1, le=1000, description="Rows per page.")
    offset: int = Field(0, ge=0, le=2_147_483_647, description="Rows to skip.")
    kind: Literal[TRANSACTION_KINDS] | None = Field(  # type: ignore[valid-type]
        None, description="Only this kind."
    )


def query_parameters(model: type[QueryParams]) -> list[dict]:
    """OpenAPI query parameter objects from a model's JSON Schema (one source for both)."""
    schema = model.model_json_schema()
    out = []
    for name, prop in schema["properties"].items():
        prop = _plain_optional(dict(prop))
        description = prop.pop("description", None)
        prop.pop("title", None)
        required = model.model_fields[name].is_required()
        param = {"name": name, "in": "query", "required": required, "schema": prop}
        limit = model.cross_limits.get(name)
        if limit:
            # JSON Schema cannot say "at most another parameter": in words and as an extension.
            description = f"{description} Refused (400) above {limit}."
            param["x-maximum-parameter"] = limit
        if description:
            param["description"] = description
        out.append(param)
    return out


def _plain_optional(prop: dict) -> dict:
    """``anyOf: [T, null]`` (pydantic's Optional) as T: an absent query parameter is the None."""
    options = prop.pop("anyOf", None)
    if options:
        prop.update(next(o for o in options if o.get("type") != "null"))
    if "default" in prop and prop["default"] is None:
        del prop["default"]
    return prop


__all__ = [
    "CorrelationMatrixParams",
    "DataQualityParams",
    "DiversificationParams",
    "EtfPricesParams",
    "HistoricalPricesParams",
    "Page",
    "PortfolioListParams",
    "PositionListParams",
    "StrategyListParams",
    "StressParams",
    "ParamError",
    "QueryParams",
    "RiskParams",
    "query_parameters",
]
