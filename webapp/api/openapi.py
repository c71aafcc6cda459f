"""GET /openapi.json: the hand-written OpenAPI 3.1 description of /api/v1 (public, no auth).

Written by hand (not generated from the routes) so it states the contract — parameter ranges,
the error shape, the ``available: false`` shape; a test checks it lists exactly the blueprint's
routes, and a schemathesis test drives every GET against it.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import jsonify

from webapp.analytics.stress import CATEGORIES, load_scenarios
from webapp.api import analytics as analytics_api
from webapp.api import bp
from webapp.api import data as data_api

Schema = dict[str, Any]

# ------------------------------------------------------------------------------------------------
# Schema helpers
# ------------------------------------------------------------------------------------------------
NUMBER: Schema = {"type": "number"}
INTEGER: Schema = {"type": "integer"}
STRING: Schema = {"type": "string"}
BOOLEAN: Schema = {"type": "boolean"}
DATE: Schema = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
# Timestamps are UTC with a Z suffix (DESIGN "Time"): the pattern makes the tests enforce it.
TIMESTAMP: Schema = {"type": "string", "format": "date-time", "pattern": r"Z$"}
ANY_OBJECT: Schema = {"type": "object"}
# Database ids are 32-bit integers (PostgreSQL INTEGER).
ID: Schema = {"type": "integer", "minimum": 1, "maximum": 2_147_483_647}


def ref(name: str) -> Schema:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """``schema`` or null (OpenAPI 3.1 / JSON Schema 2020-12 style)."""
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    out = dict(schema)
    out["type"] = [schema["type"], "null"]  # a pattern/format applies to strings only
    return out


def obj(required: tuple[str, ...] = (), **properties: Schema) -> Schema:
    """An object with these properties (more are allowed: responses may grow)."""
    out: Schema = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    return out


def arr(items: Schema, **extra: Any) -> Schema:
    """An array of ``items``."""
    return {"type": "array", "items": items, **extra}


def json_content(schema: Schema) -> dict:
    """A JSON media-type map for ``schema``."""
    return {"application/json": {"schema": schema}}


def response(description: str, schema: Schema | None = None, **extra: Any) -> dict:
    """A response object, with a JSON body when ``schema`` is given."""
    out: dict = {"description": description}
    if schema is not None:
        out["content"] = json_content(schema)
    out.update(extra)
    return out


# ------------------------------------------------------------------------------------------------
# Parameters
# ------------------------------------------------------------------------------------------------
def path_id(name: str = "portfolio_id") -> dict:
    """A required integer id in the path."""
    return {"name": name, "in": "path", "required": True, "schema": ID}


def int_query(name: str, bounds: tuple[int, int, int], description: str) -> dict:
    """An optional integer query parameter with its default and range (as the route enforces)."""
    default, lo, hi = bounds
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "integer", "minimum": lo, "maximum": hi, "default": default},
    }


def enum_query(name: str, values: tuple[str, ...], default: str, description: str) -> dict:
    """An optional query parameter taking one of ``values``."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "string", "enum": list(values), "default": default},
    }


def csv_query(
    name: str, items: Schema, description: str, *, required: bool = False, max_items: int = 100
) -> dict:
    """A comma-separated list: ``?name=a,b`` (form style, not exploded)."""
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "style": "form",
        "explode": False,
        "schema": {"type": "array", "items": items, "minItems": 1, "maxItems": max_items},
    }


SYMBOL_ITEM: Schema = {"type": "string", "pattern": "^" + analytics_api.SYMBOL_RE.pattern + "$"}
LOOKBACK_NOTE = "Look-back window in trading days (return observations up to the as-of date)."


# ------------------------------------------------------------------------------------------------
# Component schemas
# ------------------------------------------------------------------------------------------------
def _result(data_schema: str) -> Schema:
    """The analytics envelope: available + data, or available: false + reason."""
    return {
        "oneOf": [
            obj(
                ("available", "data", "metadata"),
                available={"const": True},
                data=ref(data_schema),
                metadata=ref("ResultMetadata"),
            ),
            ref("Unavailable"),
        ]
    }


def _schemas() -> dict[str, Schema]:
    money = NUMBER
    maybe = nullable(NUMBER)
    return {
        "Error": obj(
            ("error",),
            error=obj(
                ("code", "message", "details"), code=STRING, message=STRING, details=ANY_OBJECT
            ),
        ),
        "ResultMetadata": obj(
            ("portfolio_id", "as_of", "calculated_at", "parameters"),
            portfolio_id=INTEGER,
            as_of=nullable(DATE),
            calculated_at=nullable(TIMESTAMP),
            parameters=ANY_OBJECT,
        ),
        "Unavailable": obj(
            ("available", "reason", "metadata"),
            available={"const": False},
            reason={
                "type": "string",
                "description": "no_results before any batch ran; otherwise "
                "the failing step's reason (no_positions, insufficient_history, …)",
            },
            message=nullable(STRING),
            metadata=ref("ResultMetadata"),
        ),
        "Token": obj(
            ("access_token", "token_type", "expires_at", "expires_in"),
            access_token=STRING,
            token_type={"const": "bearer"},
            expires_at=TIMESTAMP,
            expires_in=INTEGER,
        ),
        "Totals": obj(
            ("cash", "equity"),
            cash=money,
            equity=money,
            long_exposure=money,
            short_exposure=money,
            gross_exposure=money,
            net_exposure=money,
            unrealized_pnl=money,
            position_count=INTEGER,
        ),
        "ValuedPosition": obj(
            ("id", "symbol", "position_type", "quantity", "status"),
            id=INTEGER,
            symbol=STRING,
            underlying=nullable(STRING),
            position_type=STRING,
            quantity=NUMBER,
            multiplier=nullable(NUMBER),
            entry_price=NUMBER,
            entry_date=nullable(DATE),
            price=maybe,
            market_value=maybe,
            cost_basis=maybe,
            unrealized_pnl=maybe,
            unrealized_pnl_pct=maybe,
            exposure=maybe,
            weight=maybe,
            status=STRING,
            name=nullable(STRING),
            sector=nullable(STRING),
            strategy=nullable(STRING),
            tags=arr(STRING),
        ),
        "PositionsView": obj(
            ("portfolio_id", "as_of", "positions", "totals", "left_out"),
            portfolio_id=INTEGER,
            as_of=nullable(DATE),
            positions=arr(ref("ValuedPosition")),
            totals=ref("Totals"),
            strategies=arr(ANY_OBJECT),
            left_out=arr(ANY_OBJECT),
        ),
        "PortfolioSummary": obj(
            ("id", "name", "cash_balance", "total_value", "position_count", "created_at"),
            id=INTEGER,
            name=STRING,
            description=nullable(STRING),
            cash_balance=NUMBER,
            total_value=maybe,
            position_count=INTEGER,
            as_of=nullable(DATE),
            created_at=TIMESTAMP,
            updated_at=TIMESTAMP,
        ),
        "Quote": obj(
            ("symbol", "price", "date", "change", "change_pct", "stale"),
            symbol=STRING,
            name=nullable(STRING),
            price=NUMBER,
            date=DATE,
            previous_close=maybe,
            previous_date=nullable(DATE),
            change=maybe,
            change_pct={**maybe, "description": "decimal fraction (0.0123 = 1.23%)"},
            stale=BOOLEAN,
        ),
        "PriceSeries": {
            "type": "object",
            "additionalProperties": obj(
                ("adj_close",),
                adj_close=arr(maybe),
                open=arr(maybe),
                high=arr(maybe),
                low=arr(maybe),
                close=arr(maybe),
                volume=arr(nullable(INTEGER)),
            ),
        },
        "Position": obj(
            ("id", "portfolio_id", "symbol", "position_type", "quantity"),
            id=INTEGER,
            portfolio_id=INTEGER,
            symbol=STRING,
            position_type=STRING,
            quantity=NUMBER,
            entry_price=NUMBER,
            entry_date=nullable(DATE),
            tags=arr(STRING),
        ),
        "Portfolio": obj(
            ("id", "name", "cash_balance"),
            id=INTEGER,
            name=STRING,
            description=nullable(STRING),
            cash_balance=NUMBER,
            created_at=TIMESTAMP,
            updated_at=TIMESTAMP,
        ),
        "BatchRun": obj(
            ("batch_run_id", "status"),
            batch_run_id=INTEGER,
            portfolio_id=nullable(INTEGER),
            job_id=nullable(STRING),
            trigger=STRING,
            status=STRING,
            as_of=nullable(DATE),
            created_at=nullable(TIMESTAMP),
            started_at=nullable(TIMESTAMP),
            finished_at=nullable(TIMESTAMP),
            steps=nullable(arr(ANY_OBJECT)),
            error=nullable(STRING),
        ),
        "ImportReport": obj(
            ("detected_format", "accepted", "rejected"),
            detected_format=STRING,
            file_error=nullable(ANY_OBJECT),
            accepted=arr(ANY_OBJECT),
            rejected=arr(ANY_OBJECT),
            skipped_lines=arr(INTEGER),
            warnings=arr(ANY_OBJECT),
        ),
        # Analytics payloads (the ``data`` of each result).
        "OverviewData": obj(
            ("summary", "sectors", "positions", "left_out"),
            summary=ref("Totals"),
            sectors=arr(obj(("sector",), sector=STRING)),
            positions=arr(
                obj(
                    ("position_id", "symbol", "status"),
                    position_id=INTEGER,
                    symbol=STRING,
                    status=STRING,
                )
            ),
            left_out=arr(ANY_OBJECT),
            method=STRING,
        ),
        "CorrelationData": obj(
            ("symbols", "matrix", "data_points"),
            symbols=arr(STRING),
            matrix=arr(arr(maybe)),
            data_points=arr(arr(INTEGER)),
            weights={"type": "object", "additionalProperties": maybe},
            average_correlation=maybe,
            diversification_score=maybe,
            start=nullable(DATE),
            end=nullable(DATE),
            left_out=arr(ANY_OBJECT),
        ),
        "DiversificationData": obj(
            ("portfolio_correlation", "symbols_included"),
            portfolio_correlation=maybe,
            diversification_score=maybe,
            label=nullable(STRING),
            symbols_included=INTEGER,
        ),
        "FactorExposuresData": obj(
            ("factors",),
            factors=arr(
                obj(
                    ("name", "beta", "exposure_dollar"),
                    name=STRING,
                    beta=maybe,
                    exposure_dollar=maybe,
                )
            ),
            equity=NUMBER,
            coverage=maybe,
            left_out=arr(ANY_OBJECT),
        ),
        "PositionFactorData": obj(
            ("positions", "factors"),
            factors=arr(STRING),
            positions=arr(
                obj(
                    ("position_id", "symbol", "available"),
                    position_id=INTEGER,
                    symbol=STRING,
                    available=BOOLEAN,
                    betas={"type": "object", "additionalProperties": maybe},
                )
            ),
        ),
        "RiskData": obj(
            ("portfolio_beta", "annualized_volatility", "max_drawdown", "var", "nobs"),
            portfolio_beta=maybe,
            annualized_volatility=maybe,
            max_drawdown=maybe,
            nobs=INTEGER,
            start=nullable(DATE),
            end=nullable(DATE),
            var=arr(obj(("confidence",), confidence=NUMBER)),
            contributions=arr(ANY_OBJECT),
        ),
        "StressData": obj(
            ("scenarios",),
            equity=NUMBER,
            scenarios=arr(
                obj(
                    ("scenario_id", "name", "category", "pnl", "pnl_pct", "new_value"),
                    scenario_id=STRING,
                    name=STRING,
                    category=STRING,
                    severity=STRING,
                    impact_type=STRING,
                    pnl=NUMBER,
                    pnl_pct=maybe,
                    new_value=NUMBER,
                    positions=arr(ANY_OBJECT),
                    left_out=arr(ANY_OBJECT),
                )
            ),
        ),
        "GreeksData": obj(
            ("options", "totals", "count"),
            options=arr(ANY_OBJECT),
            totals=obj(
                ("delta", "gamma", "theta", "vega", "rho"),
                delta=NUMBER,
                gamma=NUMBER,
                theta=NUMBER,
                vega=NUMBER,
                rho=NUMBER,
            ),
            count=INTEGER,
        ),
        "PerformanceData": obj(
            ("periods", "history"),
            periods=arr(ANY_OBJECT),
            history=obj(("dates", "equity"), dates=arr(DATE), equity=arr(NUMBER)),
            benchmark=STRING,
        ),
        **{
            f"{name}Result": _result(f"{name}Data")
            for name in (
                "Overview",
                "Correlation",
                "Diversification",
                "FactorExposures",
                "PositionFactor",
                "Risk",
                "Stress",
                "Greeks",
                "Performance",
            )
        },
    }


# ------------------------------------------------------------------------------------------------
# Operations
# ------------------------------------------------------------------------------------------------
ERRORS = {
    400: "Invalid parameter (details name the field and the allowed range)",
    401: "Missing, invalid, expired or revoked credentials",
    404: "No such portfolio (or not yours: another advisor's portfolio is never revealed)",
    409: "Conflict with the current state",
    422: "Validation failed (details.fields maps field to message)",
}


def _error(status: int) -> dict:
    return response(ERRORS[status], ref("Error"))


RATE_LIMITED = response(
    "Rate limit exceeded",
    ref("Error"),
    headers={
        "Retry-After": {
            "required": True,
            "description": "Seconds until the limit resets",
            "schema": STRING,
        }
    },
)
READ = [{"bearerAuth": []}, {"sessionCookie": []}]  # GETs: token or the browser session
WRITE = [{"bearerAuth": []}]  # writes: a token only (no cookie-borne authority, no CSRF)


def op(
    summary: str,
    tag: str,
    ok: dict,
    *,
    status: int = 200,
    params: list | None = None,
    errors: tuple[int, ...] = (401,),
    security: list | None = None,
    body: dict | None = None,
    operation_id: str,
) -> dict:
    """One operation: its success response, error responses (always 429) and security."""
    out: dict = {
        "summary": summary,
        "tags": [tag],
        "operationId": operation_id,
        "parameters": params or [],
        "security": READ if security is None else security,
        "responses": {str(status): ok, **{str(e): _error(e) for e in errors}, "429": RATE_LIMITED},
    }
    if body is not None:
        out["requestBody"] = body
    return out


def body(schema: Schema, media: str = "application/json") -> dict:
    """A required request body."""
    return {"required": True, "content": {media: {"schema": schema}}}


def _analytics_paths() -> dict:
    base = "/api/v1/analytics/portfolio/{portfolio_id}"
    scenarios = load_scenarios()
    window = [
        int_query("lookback_days", analytics_api.LOOKBACK, LOOKBACK_NOTE),
        int_query(
            "min_overlap",
            analytics_api.MIN_OVERLAP,
            "Minimum overlapping return days for a pair (at most lookback_days).",
        ),
    ]

    def get(name: str, summary: str, result: str, params: list | None = None) -> dict:
        errors = (400, 401, 404) if params else (401, 404)
        return {
            "get": op(
                summary,
                "analytics",
                response(summary, ref(result)),
                params=[path_id(), *(params or [])],
                errors=errors,
                operation_id=f"analytics_{name}",
            )
        }

    return {
        f"{base}/overview": get("overview", "Portfolio overview", "OverviewResult"),
        f"{base}/correlation-matrix": get(
            "correlation_matrix",
            "Correlation matrix of the largest holdings",
            "CorrelationResult",
            [
                *window,
                int_query(
                    "max_symbols",
                    analytics_api.MAX_SYMBOLS,
                    "Show the top N holdings by |exposure|.",
                ),
            ],
        ),
        f"{base}/diversification-score": get(
            "diversification_score", "Diversification score", "DiversificationResult", window
        ),
        f"{base}/factor-exposures": get(
            "factor_exposures", "Portfolio factor exposures", "FactorExposuresResult"
        ),
        f"{base}/positions/factor-exposures": get(
            "position_factor_exposures",
            "Per-position factor exposures (paginated)",
            "PositionFactorResult",
            [
                int_query("limit", analytics_api.LIMIT, "Page size."),
                int_query("offset", analytics_api.OFFSET, "Rows to skip."),
                csv_query("symbols", SYMBOL_ITEM, "Only these symbols (or underlyings)."),
            ],
        ),
        f"{base}/risk-metrics": get(
            "risk_metrics",
            "Risk metrics",
            "RiskResult",
            [int_query("lookback_days", analytics_api.RISK_LOOKBACK, LOOKBACK_NOTE)],
        ),
        f"{base}/stress-test": get(
            "stress_test",
            "Stress test results",
            "StressResult",
            [
                csv_query(
                    "scenarios",
                    {"type": "string", "enum": [s.id for s in scenarios]},
                    "Scenario ids (unknown ids are a 400).",
                ),
                {
                    "name": "category",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": list(CATEGORIES)},
                },
            ],
        ),
        f"{base}/greeks": get("greeks", "Option Greeks", "GreeksResult"),
        f"{base}/performance": get("performance", "Performance vs SPY", "PerformanceResult"),
        "/api/v1/analytics/factors/definitions": {
            "get": op(
                "Factor definitions",
                "analytics",
                response(
                    "The factors",
                    obj(
                        ("factors", "count"),
                        count=INTEGER,
                        factors=arr(
                            obj(
                                ("name", "etf_symbol", "construction", "description"),
                                name=STRING,
                                etf_symbol=STRING,
                                construction={"enum": ["raw", "spread"]},
                                formula=nullable(STRING),
                                description=STRING,
                            )
                        ),
                    ),
                ),
                operation_id="analytics_factor_definitions",
            )
        },
    }


def _data_paths() -> dict:
    dq_symbol = obj(
        ("symbol", "trading_days", "expected_days", "gap_days", "completeness"),
        symbol=STRING,
        history_start=nullable(DATE),
        first_date=nullable(DATE),
        last_date=nullable(DATE),
        trading_days=INTEGER,
        expected_days=INTEGER,
        gap_days=INTEGER,
        gap_ranges=arr(arr(DATE)),
        completeness=NUMBER,
        stale_days=INTEGER,
    )
    historical_meta = obj(
        ("truncated", "total_symbols", "symbols_returned", "date_format"),
        truncated=BOOLEAN,
        total_symbols=INTEGER,
        symbols_returned=INTEGER,
        max_symbols=nullable(INTEGER),
        lookback_days=INTEGER,
        date_format={"enum": ["iso", "unix"]},
        omitted_symbols=arr(STRING),
        missing_symbols=arr(STRING),
        start_date=nullable(DATE),
        end_date=nullable(DATE),
    )
    return {
        "/api/v1/data/portfolios": {
            "get": op(
                "The caller's portfolios",
                "data",
                response(
                    "Portfolios",
                    obj(
                        ("portfolios", "count"),
                        count=INTEGER,
                        portfolios=arr(ref("PortfolioSummary")),
                    ),
                ),
                operation_id="data_portfolios",
            )
        },
        "/api/v1/data/positions/details": {
            "get": op(
                "Valued positions of one portfolio",
                "data",
                response("Positions", ref("PositionsView")),
                params=[{"name": "portfolio_id", "in": "query", "required": True, "schema": ID}],
                errors=(400, 401, 404),
                operation_id="data_positions_details",
            )
        },
        "/api/v1/data/portfolio/{portfolio_id}/complete": {
            "get": op(
                "Positions, prices as of the last price date and totals",
                "data",
                response(
                    "Complete raw portfolio data",
                    obj(
                        (
                            "portfolio",
                            "as_of",
                            "summary",
                            "positions",
                            "prices",
                            "data_quality",
                            "generated_at",
                        ),
                        portfolio=ref("PortfolioSummary"),
                        as_of=nullable(DATE),
                        summary=ref("Totals"),
                        positions=arr(ref("ValuedPosition")),
                        prices={"type": "object", "additionalProperties": ref("Quote")},
                        left_out=arr(ANY_OBJECT),
                        data_quality=ANY_OBJECT,
                        generated_at=TIMESTAMP,
                    ),
                ),
                params=[path_id()],
                errors=(401, 404),
                operation_id="data_portfolio_complete",
            )
        },
        "/api/v1/data/portfolio/{portfolio_id}/data-quality": {
            "get": op(
                "Price coverage per symbol over the look-back",
                "data",
                response(
                    "Coverage",
                    obj(
                        (
                            "portfolio_id",
                            "as_of",
                            "lookback_days",
                            "symbols",
                            "missing_symbols",
                            "summary",
                        ),
                        portfolio_id=INTEGER,
                        as_of=nullable(DATE),
                        lookback_days=INTEGER,
                        window=ANY_OBJECT,
                        symbols=arr(dq_symbol),
                        missing_symbols=arr(STRING),
                        summary=ANY_OBJECT,
                        feasibility=ANY_OBJECT,
                        generated_at=TIMESTAMP,
                    ),
                ),
                params=[
                    path_id(),
                    int_query("lookback_days", data_api.QUALITY_LOOKBACK, LOOKBACK_NOTE),
                ],
                errors=(400, 401, 404),
                operation_id="data_portfolio_data_quality",
            )
        },
        "/api/v1/data/prices/historical/{portfolio_id}": {
            "get": op(
                "Daily prices of the portfolio's symbols on one date axis",
                "data",
                response(
                    "Aligned prices",
                    obj(
                        ("portfolio_id", "as_of", "dates", "symbols", "metadata"),
                        portfolio_id=INTEGER,
                        as_of=nullable(DATE),
                        dates={
                            "type": "array",
                            "items": {"anyOf": [DATE, INTEGER]},
                            "description": (
                                "YYYY-MM-DD, or Unix seconds at 00:00 UTC with date_format=unix"
                            ),
                        },
                        symbols=ref("PriceSeries"),
                        factor_etfs=ref("PriceSeries"),
                        metadata=historical_meta,
                    ),
                ),
                params=[
                    path_id(),
                    int_query("lookback_days", data_api.HISTORY_LOOKBACK, LOOKBACK_NOTE),
                    {
                        "name": "max_symbols",
                        "in": "query",
                        "required": False,
                        "description": "Keep the N largest holdings (metadata says what was cut).",
                        "schema": {
                            "type": "integer",
                            "minimum": data_api.MAX_SYMBOLS[0],
                            "maximum": data_api.MAX_SYMBOLS[1],
                        },
                    },
                    enum_query("date_format", ("iso", "unix"), "iso", "How dates are written."),
                    enum_query(
                        "include_factor_etfs",
                        ("true", "false"),
                        "false",
                        "Add the factor ETFs' prices under factor_etfs.",
                    ),
                ],
                errors=(400, 401, 404),
                operation_id="data_prices_historical",
            )
        },
        "/api/v1/data/prices/quotes": {
            "get": op(
                "Last price, date and one-day change",
                "data",
                response(
                    "Quotes",
                    obj(
                        ("as_of", "quotes", "unknown_symbols"),
                        as_of=nullable(DATE),
                        quotes=arr(ref("Quote")),
                        unknown_symbols=arr(STRING),
                        metadata=ANY_OBJECT,
                    ),
                ),
                params=[
                    csv_query(
                        "symbols",
                        SYMBOL_ITEM,
                        "Symbols, e.g. AAPL,MSFT.",
                        required=True,
                        max_items=data_api.MAX_QUOTES,
                    )
                ],
                errors=(400, 401),
                operation_id="data_prices_quotes",
            )
        },
        "/api/v1/data/factors/etf-prices": {
            "get": op(
                "The factor ETFs' recent prices",
                "data",
                response(
                    "Factor ETF prices",
                    obj(
                        ("as_of", "dates", "factors"),
                        as_of=nullable(DATE),
                        lookback_days=INTEGER,
                        dates=arr(DATE),
                        metadata=ANY_OBJECT,
                        factors=arr(
                            obj(
                                ("factor", "etf_symbol", "quote", "adj_close"),
                                factor=STRING,
                                etf_symbol=STRING,
                                construction=STRING,
                                quote=nullable(ref("Quote")),
                                adj_close=arr(nullable(NUMBER)),
                            )
                        ),
                    ),
                ),
                params=[int_query("lookback_days", data_api.ETF_LOOKBACK, LOOKBACK_NOTE)],
                errors=(400, 401),
                operation_id="data_factor_etf_prices",
            )
        },
    }


def _export_paths() -> dict:
    trade = obj(
        ("Action", "Symbol", "Quantity", "Order Type", "Est. Price", "Est. Value"),
        **{
            "Action": {"enum": ["BUY", "SELL", "SELL_SHORT", "BUY_TO_COVER"]},
            "Symbol": STRING,
            "Quantity": NUMBER,
            "Order Type": {"const": "MARKET"},
            "Est. Price": nullable(NUMBER),
            "Est. Value": nullable(NUMBER),
        },
    )
    trade_body = {
        "oneOf": [
            obj(
                ("portfolio_id", "target"),
                portfolio_id=ID,
                close_unlisted={
                    **BOOLEAN,
                    "default": True,
                    "description": "Close open positions the target omits.",
                },
                target=arr(
                    obj(
                        ("symbol", "quantity"),
                        symbol=STRING,
                        quantity={**NUMBER, "description": "Signed target (negative = short)."},
                    ),
                    minItems=1,
                ),
            ),
            obj(
                ("portfolio_id", "trades"),
                portfolio_id=ID,
                trades=arr(
                    obj(
                        ("symbol", "side", "quantity"),
                        symbol=STRING,
                        side={"enum": ["BUY", "SELL", "SELL_SHORT", "BUY_TO_COVER"]},
                        quantity={"type": "number", "exclusiveMinimum": 0},
                    ),
                    minItems=1,
                ),
            ),
        ]
    }
    disposition = {
        "Content-Disposition": {
            "required": True,
            "schema": STRING,
            "description": 'attachment; filename="<name>-<as-of>.<ext>"',
        }
    }
    binary = {"type": "string", "contentMediaType": "application/octet-stream"}
    return {
        "/api/v1/export/portfolio/{portfolio_id}": {
            "get": op(
                "Download the portfolio",
                "export",
                {
                    "description": (
                        "json: everything (positions, prices, every stored result); "
                        "csv: open positions in the canonical import format; xlsx: workbook"
                    ),
                    "headers": disposition,
                    "content": {
                        "application/json": {
                            "schema": obj(
                                ("format", "portfolio", "positions", "prices", "analytics"),
                                format=STRING,
                                portfolio=ref("PortfolioSummary"),
                                positions=arr(ref("ValuedPosition")),
                                prices=ANY_OBJECT,
                                analytics=ANY_OBJECT,
                                factor_definitions=arr(ANY_OBJECT),
                            )
                        },
                        "text/csv": {"schema": STRING},
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                            "schema": binary
                        },
                    },
                },
                params=[
                    path_id(),
                    enum_query("format", ("json", "csv", "xlsx"), "json", "File format."),
                ],
                errors=(400, 401, 404),
                operation_id="export_portfolio",
            )
        },
        "/api/v1/export/trades": {
            "post": op(
                "Trade list (target vs current, or explicit trades)",
                "export",
                {
                    "description": "Broker-style orders",
                    "content": {
                        "application/json": {
                            "schema": obj(
                                ("portfolio_id", "as_of", "trades", "count"),
                                portfolio_id=INTEGER,
                                as_of=nullable(DATE),
                                columns=arr(STRING),
                                trades=arr(trade),
                                count=INTEGER,
                            )
                        },
                        "text/csv": {"schema": STRING},
                    },
                },
                params=[enum_query("format", ("json", "csv"), "json", "Output format.")],
                errors=(400, 401, 404, 422),
                security=WRITE,
                body=body(trade_body),
                operation_id="export_trades",
            )
        },
    }


def _auth_paths() -> dict:
    token = response("A bearer token", ref("Token"))
    return {
        "/api/v1/auth/login": {
            "post": op(
                "Log in: email and password for a bearer token",
                "auth",
                token,
                security=[],
                errors=(400, 401, 422),
                operation_id="auth_login",
                body=body(obj(("email", "password"), email=STRING, password=STRING)),
            )
        },
        "/api/v1/auth/refresh": {
            "post": op(
                "Swap a token for a new one (the old one is revoked)",
                "auth",
                token,
                security=WRITE,
                operation_id="auth_refresh",
            )
        },
        "/api/v1/auth/logout": {
            "post": op(
                "Revoke the token",
                "auth",
                response("Revoked", obj(("revoked",), revoked=BOOLEAN)),
                security=WRITE,
                operation_id="auth_logout",
            )
        },
    }


def _system_paths() -> dict:
    runs = obj(("runs", "count"), runs=arr(ref("BatchRun")), count=INTEGER)
    return {
        "/api/v1/system/batch/portfolio/{portfolio_id}": {
            "post": op(
                "Queue the portfolio's calculation batch",
                "system",
                response("Queued (or the already queued run)", ref("BatchRun")),
                status=202,
                params=[path_id()],
                errors=(401, 404),
                security=WRITE,
                operation_id="system_batch_portfolio",
            )
        },
        "/api/v1/system/batch/run-all": {
            "post": op(
                "Queue a batch for every portfolio of the caller",
                "system",
                response("Queued", runs),
                status=202,
                security=WRITE,
                operation_id="system_batch_run_all",
            )
        },
        "/api/v1/system/jobs/{job_id}": {
            "get": op(
                "Job status, progress, current step and result",
                "system",
                response(
                    "Job",
                    obj(
                        ("job_id", "status", "progress"),
                        job_id=STRING,
                        status=STRING,
                        progress={"type": ["integer", "number"]},
                        current_step=nullable(STRING),
                        result={},
                        error=nullable(STRING),
                        enqueued_at=nullable(TIMESTAMP),
                        started_at=nullable(TIMESTAMP),
                        ended_at=nullable(TIMESTAMP),
                    ),
                ),
                params=[
                    {
                        "name": "job_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": r"^batch-[0-9]{1,9}$"},
                    }
                ],
                errors=(401, 404),
                operation_id="system_job",
            )
        },
        "/api/v1/system/batch/history": {
            "get": op(
                "Recent batch runs",
                "system",
                response("Runs", runs),
                params=[
                    int_query("limit", (50, 1, 500), "How many runs."),
                    {"name": "portfolio_id", "in": "query", "required": False, "schema": ID},
                ],
                errors=(400, 401, 404),
                operation_id="system_batch_history",
            )
        },
    }


def _management_paths() -> dict:
    portfolio = response("The portfolio", ref("Portfolio"))
    position = response("The position", ref("Position"))
    portfolio_body = body(
        obj(("name",), name=STRING, description=STRING, cash={"type": ["number", "string"]})
    )
    position_body = body(
        obj(
            ("symbol", "quantity", "entry_price"),
            symbol=STRING,
            quantity={"type": ["number", "string"]},
            entry_price={"type": ["number", "string"]},
            entry_date=STRING,
            position_type=STRING,
            tags={},
            strategy=STRING,
            notes=STRING,
        )
    )
    pid = [path_id(), path_id("position_id")]
    no_content = {"description": "Deleted"}
    return {
        "/api/v1/management/portfolios": {
            "post": op(
                "Create a portfolio",
                "management",
                portfolio,
                status=201,
                errors=(400, 401, 422),
                security=WRITE,
                body=portfolio_body,
                operation_id="management_create_portfolio",
            )
        },
        "/api/v1/management/portfolios/upload": {
            "post": op(
                "Upload a holdings CSV (mode=validate|commit)",
                "management",
                response("Validation report (mode=validate)", ref("ImportReport")),
                errors=(400, 401, 422),
                security=WRITE,
                operation_id="management_upload",
                body=body(
                    obj(
                        ("file",),
                        file={"type": "string", "contentMediaType": "text/csv"},
                        mode={"enum": ["validate", "commit"]},
                        name=STRING,
                        description=STRING,
                        cash=STRING,
                    ),
                    "multipart/form-data",
                ),
            )
        },
        "/api/v1/management/portfolios/{portfolio_id}": {
            method: op(
                f"Update a portfolio ({method.upper()})",
                "management",
                portfolio,
                params=[path_id()],
                errors=(400, 401, 404, 422),
                security=WRITE,
                body=portfolio_body,
                operation_id=f"management_{method}_portfolio",
            )
            for method in ("put", "patch")
        }
        | {
            "delete": op(
                "Delete a portfolio",
                "management",
                no_content,
                status=204,
                params=[path_id()],
                errors=(401, 404),
                security=WRITE,
                operation_id="management_delete_portfolio",
            )
        },
        "/api/v1/management/portfolios/{portfolio_id}/positions": {
            "get": op(
                "Positions of a portfolio",
                "management",
                response("Positions", obj(("positions",), positions=arr(ref("Position")))),
                params=[path_id()],
                errors=(401, 404),
                operation_id="management_list_positions",
            ),
            "post": op(
                "Add a position",
                "management",
                position,
                status=201,
                params=[path_id()],
                errors=(400, 401, 404, 422),
                security=WRITE,
                body=position_body,
                operation_id="management_create_position",
            ),
        },
        "/api/v1/management/portfolios/{portfolio_id}/positions/{position_id}": {
            "get": op(
                "One position",
                "management",
                position,
                params=pid,
                errors=(401, 404),
                operation_id="management_get_position",
            )
        }
        | {
            method: op(
                f"Update a position ({method.upper()})",
                "management",
                position,
                params=pid,
                errors=(400, 401, 404, 422),
                security=WRITE,
                body=position_body,
                operation_id=f"management_{method}_position",
            )
            for method in ("put", "patch")
        }
        | {
            "delete": op(
                "Delete a position",
                "management",
                no_content,
                status=204,
                params=pid,
                errors=(401, 404),
                security=WRITE,
                operation_id="management_delete_position",
            )
        },
        "/api/v1/management/portfolios/{portfolio_id}/positions/{position_id}/tags": {
            "put": op(
                "Replace the position's tags (unknown names become new tags)",
                "management",
                position,
                params=pid,
                errors=(400, 401, 404, 422),
                security=WRITE,
                operation_id="management_set_position_tags",
                body=body(obj(("tags",), tags=arr(STRING))),
            )
        },
        "/api/v1/management/portfolios/{portfolio_id}/positions/{position_id}/close": {
            "post": op(
                "Close a position",
                "management",
                position,
                params=pid,
                errors=(400, 401, 404, 409, 422),
                security=WRITE,
                operation_id="management_close_position",
                body=body(
                    obj(
                        ("exit_price",), exit_price={"type": ["number", "string"]}, exit_date=STRING
                    )
                ),
            )
        },
        "/api/v1/management/tags": {
            "get": op(
                "The caller's tags",
                "management",
                response(
                    "Tags",
                    obj(
                        ("tags",),
                        count=INTEGER,
                        tags=arr(
                            obj(
                                ("id", "name"),
                                id=INTEGER,
                                name=STRING,
                                color=STRING,
                                position_count=INTEGER,
                            )
                        ),
                    ),
                ),
                operation_id="management_list_tags",
            ),
            "post": op(
                "Create a tag",
                "management",
                response("The tag", obj(("id", "name"), id=INTEGER, name=STRING, color=STRING)),
                status=201,
                errors=(400, 401, 409, 422),
                security=WRITE,
                operation_id="management_create_tag",
                body=body(obj(("name",), name=STRING, color=STRING)),
            ),
        },
        "/api/v1/management/tags/{tag_id}": {
            "delete": op(
                "Delete a tag",
                "management",
                no_content,
                status=204,
                params=[path_id("tag_id")],
                errors=(401, 404),
                security=WRITE,
                operation_id="management_delete_tag",
            )
        },
    }


@functools.cache
def document() -> dict:
    """The OpenAPI 3.1 document (built once: it depends only on code and the scenario library)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SigmaSight API",
            "version": "1.0.0",
            "description": (
                "Portfolio risk analytics for financial advisors. Authenticate with POST "
                "/api/v1/auth/login and send 'Authorization: Bearer <token>'; GET requests also "
                'accept the browser session. Errors: {"error": {code, message, details}}. '
                'Analytics without a stored result answer 200 with {"available": false, '
                '"reason"}. Timestamps are UTC ISO 8601 with Z; dates YYYY-MM-DD; numbers are '
                "dollars or decimal fractions (0.05 = 5%) unless named otherwise."
            ),
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": t}
            for t in ("auth", "data", "analytics", "export", "system", "management", "meta")
        ],
        "paths": {
            **_auth_paths(),
            **_data_paths(),
            **_analytics_paths(),
            **_export_paths(),
            **_system_paths(),
            **_management_paths(),
            "/api/v1/openapi.json": {
                "get": op(
                    "This document",
                    "meta",
                    response("OpenAPI 3.1 document", ANY_OBJECT),
                    errors=(),
                    security=[],
                    operation_id="openapi_document",
                )
            },
        },
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Token from POST /api/v1/auth/login (24 h).",
                },
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "The browser session; GET requests only.",
                },
            },
        },
    }


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 document of this API (public)."""
    return jsonify(document())
