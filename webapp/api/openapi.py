"""GET /openapi.json: the hand-written OpenAPI 3.1 description of /api/v1 (public, no auth).

Written by hand (not generated from the routes) so it states the contract — parameter ranges,
the error shape, the ``available: false`` shape; a test checks it lists exactly the blueprint's
routes, and a schemathesis test drives every GET against it.

The document is built from compact declarations: object schemas from a one-string field list
(:func:`fields`), operations from one :func:`op` call each, whose path parameters, tag, security
and error responses follow from the route and the API's conventions.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from flask import jsonify

from webapp.analytics.factors import FACTORS
from webapp.analytics.stress import CATEGORIES, load_scenarios
from webapp.api import alerts as alerts_api
from webapp.api import analytics as analytics_api
from webapp.api import bp
from webapp.api import data as data_api
from webapp.api import management as management_api
from webapp.api import modelling as modelling_api
from webapp.api import reports as reports_api
from webapp.api import system as system_api
from webapp.schemas.contract import TOP_LEVEL, StressImpact
from webapp.schemas.params import (
    ClientListParams,
    CorrelationMatrixParams,
    DataQualityParams,
    DiversificationParams,
    EtfPricesParams,
    ForwardRangeParams,
    HistoricalPricesParams,
    HouseholdListParams,
    PortfolioListParams,
    PositionListParams,
    RiskParams,
    StrategyListParams,
    query_parameters,
)
from webapp.services import clients as clients_svc
from webapp.services import management as mgmt

Schema = dict[str, Any]

# ------------------------------------------------------------------------------------------------
# Schemas
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

# The type codes of :func:`schema`. ``amount``: writes accept a number or a decimal string.
TYPES: dict[str, Schema] = {
    "int": INTEGER,
    "num": NUMBER,
    "str": STRING,
    "bool": BOOLEAN,
    "date": DATE,
    "ts": TIMESTAMP,
    "obj": ANY_OBJECT,
    "id": ID,
    "amount": {"type": ["number", "string"]},
    "any": {},
}


def ref(name: str) -> Schema:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(inner: Schema) -> Schema:
    """``inner`` or null (OpenAPI 3.1 / JSON Schema 2020-12 style)."""
    if "$ref" in inner:
        return {"anyOf": [inner, {"type": "null"}]}
    out = dict(inner)
    out["type"] = [inner["type"], "null"]  # a pattern/format applies to strings only
    return out


def arr(items: Schema, **extra: Any) -> Schema:
    """An array of ``items``."""
    return {"type": "array", "items": items, **extra}


def obj(required: tuple[str, ...] = (), **properties: Schema) -> Schema:
    """An object with these properties (more are allowed: responses may grow)."""
    out: Schema = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    return out


def schema(code: str, **local: Schema | str) -> Schema:
    """The schema a type code names.

    ``T?`` is T or null, ``[T]`` an array of T, ``{T}`` an object mapping any key to T,
    ``@Name`` a component schema; a bare name is one of ``local`` (a string there is a
    :func:`fields` spec: an inline object) or of :data:`TYPES`.
    """
    if code.endswith("?"):
        return nullable(schema(code[:-1], **local))
    if code.startswith("["):
        return arr(schema(code[1:-1], **local))
    if code.startswith("{"):
        return {"type": "object", "additionalProperties": schema(code[1:-1], **local)}
    if code.startswith("@"):
        return ref(code[1:])
    if code not in local:
        return TYPES[code]
    named = local[code]
    return fields(named) if isinstance(named, str) else named


def fields(*spec: str, **local: Schema | str) -> Schema:
    """An object from ``"name:type"`` words; ``name!`` is required (listed in the words' order).

    Types are :func:`schema` codes; ``local`` names the types too long for a code.
    """
    properties: dict[str, Schema] = {}
    required: list[str] = []
    for word in " ".join(spec).split():
        name, _, code = word.partition(":")
        if name.endswith("!"):
            name = name[:-1]
            required.append(name)
        properties[name] = schema(code, **local)
    return obj(tuple(required), **properties)


def _result(data_schema: str) -> Schema:
    """The analytics envelope: available + data, or available: false + reason."""
    available = fields(
        "available!:yes data!:data metadata!:@ResultMetadata",
        yes={"const": True},
        data=ref(data_schema),
    )
    return {"oneOf": [available, ref("Unavailable")]}


def model_schema(model: type) -> tuple[Schema, dict[str, Schema]]:
    """A pydantic model's JSON Schema with refs into components, and the models it refers to."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return schema, schema.pop("$defs", {})


def _contract_result(name: str) -> tuple[Schema, dict[str, Schema]]:
    """``<name>Result``: the envelope of ``<name>Data`` plus the contract block's fields
    (``schemas.contract.TOP_LEVEL``), and the component schemas the block uses."""
    model = TOP_LEVEL.get(name)
    result = _result(f"{name}Data")
    if model is None:
        return result, {}
    block, defs = model_schema(model)
    available = result["oneOf"][0]
    available["properties"].update(block["properties"])
    available["required"] += block.get("required", [])
    return result, defs


def _schemas() -> dict[str, Schema]:
    """The component schemas: shared shapes, then each analytics payload and its result."""
    unavailable_reason = {
        "type": "string",
        "description": "the reference contract's code where it names one "
        "(no_calculation_available, no_snapshots, insufficient_overlap, no_benchmark_data, "
        "no_snapshot, no_results, insufficient_symbols); otherwise ours. detail: our own, more "
        "specific code (no_results before any batch ran, or the failing step's reason: "
        "no_positions, insufficient_history, …)",
    }
    fraction = {**nullable(NUMBER), "description": "decimal fraction (0.0123 = 1.23%)"}
    prices = fields(
        "adj_close!:[num?] open:[num?] high:[num?] low:[num?] close:[num?] volume:[int?]"
    )
    payloads = {
        "Overview": fields(
            "summary!:@Totals sectors!:[sector] positions!:[row] left_out!:[obj] method:str",
            sector="sector!:str",
            row="position_id!:int symbol!:str status!:str",
        ),
        "Correlation": fields(
            # matrix: the contract's {symbol: {symbol: r}}; matrix_rows: the same as rows in
            # the order of symbols (largest exposure first).
            "symbols!:[str] matrix!:{{num?}} matrix_rows!:[[num?]] data_points!:[[int]]",
            "weights:{num?}",
            "average_correlation:num? diversification_score:num? start:date? end:date?",
            "left_out:[obj]",
        ),
        "Diversification": fields(
            "portfolio_correlation!:num? diversification_score:num? label:str?",
            "symbols_included!:int",
        ),
        "FactorExposures": fields(
            "factors!:[factor] equity:num coverage:num? left_out:[obj]",
            factor="name!:str beta!:num? exposure_dollar!:num?",
        ),
        "PositionFactor": fields(
            "positions!:[row] factors!:[str]",
            row="position_id!:int symbol!:str available!:bool betas:{num?}",
        ),
        "Risk": fields(
            "portfolio_beta!:num? annualized_volatility!:num? max_drawdown!:num? var!:[level]",
            "nobs!:int start:date? end:date? contributions:[obj]",
            level="confidence!:num",
        ),
        "Stress": fields(
            "equity:num scenarios!:[scenario] covariance:covariance shrinkage:shrinkage",
            "portfolio_value!:num calculation_date!:date?",
            scenario=fields(
                "scenario_id!:str id!:str impact!:impact name!:str category!:str severity:str",
                "impact_type:str pnl!:num pnl_pct!:num? new_value!:num",
                "positions:[obj] left_out:[obj]",
                "factor_moves:{num} move_explained:[moved] covariance:obj shrinkage:obj",
                # The contract's impact: percentage_impact in percentage points (-10.0 = -10%);
                # pnl_pct is the same as a decimal fraction.
                impact=ref("StressImpact"),
                moved="underlying!:str terms!:{num} raw_move!:num shrinkage!:num move!:num",
            ),
            # How the factor covariance of the implied moves was estimated, and the shrinkage.
            covariance="method!:str blend!:num stress_days!:int calm_days!:int "
            "market_threshold:num? history_start:date? history_end:date? note:str",
            shrinkage="method!:str intercept!:num slope!:num rule!:str",
        ),
        "Greeks": fields(
            "options!:[obj] totals!:totals count!:int",
            totals="delta!:num gamma!:num theta!:num vega!:num rho!:num",
        ),
        "Performance": fields(
            "periods!:[obj] history!:history benchmark:str",
            history="dates!:[date] equity!:[num]",
        ),
        # Percentages in percentage points (-12.5 = a 12.5% loss); breach odds 0..1.
        "ForwardRange": fields(
            "method!:str paths!:int seed!:int horizons!:[int] observations!:int",
            "start_equity!:num bands!:[band] path!:[point] loss_limit_pct!:num? breach!:[odds]?",
            "window_start:date? window_end:date? left_out:[obj] description:str",
            band="horizon_days!:int label!:str pct!:{num?} dollars!:{num?} value!:{num?}",
            point="day!:int pct!:{num?}",
            odds="horizon_days!:int at_horizon!:num any_checkpoint!:num",
        ),
        "RiskScore": fields(
            "score!:int downside_pct!:num upside_pct!:num horizon_days!:int gap!:gap",
            "tolerance!:tolerance? parametric_score:int method:str simulation:str",
            gap="verdict!:str words!:str difference!:int? portfolio_score!:int",
            tolerance="score!:int loss_limit_pct!:num client_name!:str category:str",
        ),
    }
    results, contract_defs = {}, {}
    for name in payloads:
        results[f"{name}Result"], defs = _contract_result(name)
        contract_defs.update(defs)
    impact, defs = model_schema(StressImpact)
    contract_defs.update(defs, StressImpact=impact)
    return {
        "Error": fields("error!:error", error="code!:str message!:str details!:obj"),
        "ResultMetadata": fields(
            "portfolio_id!:int as_of!:date? calculated_at!:ts? parameters!:obj"
        ),
        "Unavailable": fields(
            "available!:no reason!:reason detail:str? message:str? metadata!:@ResultMetadata",
            no={"const": False},
            reason=unavailable_reason,
        ),
        "Token": fields(
            "access_token!:str token_type!:bearer expires_at!:ts expires_in!:int",
            "csrf_token!:str",
            bearer={"const": "bearer"},
        ),
        "Totals": fields(
            "cash!:num equity!:num long_exposure:num short_exposure:num gross_exposure:num",
            "net_exposure:num unrealized_pnl:num position_count:int",
        ),
        "ValuedPosition": fields(
            "id!:int symbol!:str underlying:str? position_type!:str quantity!:num",
            "multiplier:num? entry_price:num entry_date:date? price:num? market_value:num?",
            "cost_basis:num? unrealized_pnl:num? unrealized_pnl_pct:num? exposure:num?",
            "weight:num? status!:str name:str? sector:str? strategy:str? tags:[str]",
        ),
        "PositionsView": fields(
            "portfolio_id!:int as_of!:date? positions!:[@ValuedPosition] totals!:@Totals",
            "strategies:[obj] left_out!:[obj]",
        ),
        "PortfolioSummary": fields(
            "id!:int name!:str description:str? cash_balance!:num benchmark!:str",
            "inception_date:date? total_value!:num? position_count!:int as_of:date?",
            "created_at!:ts updated_at:ts",
        ),
        "Quote": fields(
            "symbol!:str name:str? price!:num date!:date previous_close:num?",
            "previous_date:date? change!:num? change_pct!:fraction stale!:bool",
            fraction=fraction,
        ),
        "PriceSeries": schema("{prices}", prices=prices),
        "Position": fields(
            "id!:int portfolio_id!:int symbol!:str position_type!:str quantity!:num",
            "entry_price:num entry_date:date? tags:[str]",
        ),
        "Portfolio": fields(
            "id!:int name!:str description:str? cash_balance!:num benchmark!:str",
            "inception_date:date? created_at:ts updated_at:ts",
        ),
        # One ledger entry: amount is the signed cash effect in dollars (money in positive),
        # quantity a positive magnitude; is_flow marks deposits and withdrawals.
        "Transaction": fields(
            "id!:int portfolio_id!:int trade_date!:date kind!:str symbol:str? position_type:str?",
            "quantity:num? price:num? multiplier:num? underlying_symbol:str? strike_price:num?",
            "expiration_date:date? amount!:num fees!:num realized_pnl:num? position_id:int?",
            "is_flow!:bool source!:str notes:str running_cash:num?",
        ),
        "BatchRun": fields(
            "batch_run_id!:int portfolio_id:int? job_id:str? trigger:str status!:str",
            "as_of:date? created_at:ts? started_at:ts? finished_at:ts? steps:[obj]? error:str?",
        ),
        "ImportReport": fields(
            "detected_format!:str file_error:obj? accepted!:[obj] rejected!:[obj]",
            "skipped_lines:[int] warnings:[obj]",
        ),
        **{f"{name}Data": payload for name, payload in payloads.items()},
        **results,
        **contract_defs,
    }


# ------------------------------------------------------------------------------------------------
# Parameters
# ------------------------------------------------------------------------------------------------
def _query(name: str, value: Schema, description: str | None, **extra: Any) -> dict:
    """An optional query parameter whose value is ``value`` (``extra`` may make it required)."""
    out: dict = {"name": name, "in": "query", "required": False}
    if description is not None:
        out["description"] = description
    return {**out, **extra, "schema": value}


def int_query(name: str, bounds: tuple[int | None, int, int], description: str) -> dict:
    """An integer query parameter with its default and range: the route's own constants."""
    default, lo, hi = bounds
    bounded = {"type": "integer", "minimum": lo, "maximum": hi}
    return _query(
        name, bounded if default is None else {**bounded, "default": default}, description
    )


def enum_query(name: str, values: tuple[str, ...], default: str, description: str) -> dict:
    """A query parameter taking one of ``values``."""
    return _query(name, {"type": "string", "enum": list(values), "default": default}, description)


def csv_query(
    name: str,
    items: Schema,
    description: str,
    *,
    required: bool = False,
    max_items: int = analytics_api.MAX_LIST_ITEMS,
) -> dict:
    """A comma-separated list: ``?name=a,b`` (form style, not exploded)."""
    listed = arr(items, minItems=1, maxItems=max_items)
    return _query(name, listed, description, required=required, style="form", explode=False)


def id_query(name: str = "portfolio_id", *, required: bool = False) -> dict:
    """A database id in the query string."""
    return _query(name, ID, None, required=required)


# A path parameter is a database id unless named here.
PATH_PARAMETERS: dict[str, Schema] = {
    # batch-<run id>-<8 hex>: the run id and a random suffix (queueing.enqueue_portfolio_batch).
    "job_id": {"type": "string", "pattern": r"^batch-[0-9]{1,9}-[0-9a-f]{8}$"},
}
SYMBOL_ITEM: Schema = {"type": "string", "pattern": "^" + analytics_api.SYMBOL_RE.pattern + "$"}
LOOKBACK_NOTE = "Look-back window in trading days (return observations up to the as-of date)."


# ------------------------------------------------------------------------------------------------
# Operations
# ------------------------------------------------------------------------------------------------
ERRORS = {
    400: "Invalid parameter (details name the field and the allowed range)",
    401: "Missing, invalid, expired or revoked credentials",
    403: "A write authenticated by the auth_token cookie without the X-CSRF-Token header",
    404: "No such portfolio (or not yours: another advisor's portfolio is never revealed)",
    409: "Conflict with the current state",
    422: "Validation failed (details.fields maps field to message)",
}
RATE_LIMITED_HEADERS = {
    "Retry-After": {
        "required": True,
        "description": "Seconds until the limit resets",
        "schema": STRING,
    }
}
# GETs: the token (header or auth_token cookie) or the browser session.
READ = [{"bearerAuth": []}, {"authCookie": []}, {"sessionCookie": []}]
# Writes: the bearer token, or the auth_token cookie together with the CSRF header (never the
# browser session: a cookie-borne write needs proof it came from the app's own script).
WRITE = [{"bearerAuth": []}, {"authCookie": [], "csrfHeader": []}]
PREFIX = "/api/v1"


def response(description: str, json_body: Schema | None = None, **extra: Any) -> dict:
    """A response object, with a JSON body when ``json_body`` is given."""
    out: dict = {"description": description}
    if json_body is not None:
        out["content"] = {"application/json": {"schema": json_body}}
    return {**out, **extra}


class Operation(NamedTuple):
    """One documented operation: where it lives and its OpenAPI operation object."""

    path: str
    method: str
    spec: dict


def _error_statuses(
    method: str,
    path_params: Sequence[dict],
    query: Sequence[dict],
    body: Schema | None,
    public: bool,
    errors: tuple[int, ...],
) -> list[int]:
    """``errors`` and what the API's conventions imply: a query parameter or a body can be invalid
    (400), a protected route lacks credentials (401), a path id is unknown or not the caller's
    (404), a well-formed body fails validation (422)."""
    implied = {
        400: bool(query) or body is not None,
        401: not public,
        403: not public and method != "get",  # a cookie-authenticated write without CSRF
        404: bool(path_params),
        422: body is not None,
    }
    return sorted(set(errors) | {status for status, applies in implied.items() if applies})


def op(
    route: str,
    operation_id: str,
    summary: str,
    ok: dict,
    *,
    status: int = 200,
    query: Sequence[dict] = (),
    body: Schema | None = None,
    media: str = "application/json",
    errors: tuple[int, ...] = (),
    public: bool = False,
    tag: str | None = None,
) -> Operation:
    """One operation from ``"method /path"`` (under /api/v1) and its success response ``ok``.

    Derived from the route: the path parameters, the tag (the path's first segment), the
    security (none when ``public``; GETs also take the session) and the error responses
    (:func:`_error_statuses` plus ``errors``; always 429).
    """
    method, path = route.split(" ")
    path_params = [
        {"name": n, "in": "path", "required": True, "schema": PATH_PARAMETERS.get(n, ID)}
        for n in re.findall(r"{(\w+)}", path)
    ]
    statuses = _error_statuses(method, path_params, query, body, public, errors)
    spec: dict = {
        "summary": summary,
        "tags": [tag or path.split("/")[1]],
        "operationId": operation_id,
        "parameters": [*path_params, *query],
        "security": [] if public else READ if method == "get" else WRITE,
        "responses": {
            str(status): ok,
            **{str(e): response(ERRORS[e], ref("Error")) for e in statuses},
            "429": response("Rate limit exceeded", ref("Error"), headers=RATE_LIMITED_HEADERS),
        },
    }
    if body is not None:
        spec["requestBody"] = {"required": True, "content": {media: {"schema": body}}}
    return Operation(PREFIX + path, method, spec)


def _auth_operations() -> list[Operation]:
    token = response("A bearer token", ref("Token"))
    credentials = fields("email!:str password!:str")
    return [
        op(
            "post /auth/login",
            "auth_login",
            "Log in: email and password for a bearer token",
            token,
            body=credentials,
            public=True,
            errors=(401,),  # wrong email or password
        ),
        op(
            "post /auth/refresh",
            "auth_refresh",
            "Swap a token for a new one (the old one is revoked)",
            token,
        ),
        op(
            "post /auth/logout",
            "auth_logout",
            "Revoke the token",
            response("Revoked", fields("revoked!:bool")),
        ),
    ]


def _data_operations() -> list[Operation]:
    complete = fields(
        "portfolio!:@PortfolioSummary as_of!:date? summary!:@Totals positions!:[@ValuedPosition]",
        "prices!:{@Quote} left_out:[obj] data_quality!:obj generated_at!:ts",
    )
    coverage = fields(
        "portfolio_id!:int as_of!:date? lookback_days!:int window:obj symbols!:[symbol]",
        "missing_symbols!:[str] summary!:obj feasibility:obj generated_at:ts",
        symbol=fields(
            "symbol!:str history_start:date? first_date:date? last_date:date? trading_days!:int",
            "expected_days!:int gap_days!:int gap_ranges:[[date]] completeness!:num stale_days:int",
        ),
    )
    aligned = fields(
        "portfolio_id!:int as_of!:date? dates!:dates symbols!:@PriceSeries",
        "factor_etfs:@PriceSeries metadata!:metadata",
        dates=arr(
            {"anyOf": [DATE, INTEGER]},
            description="YYYY-MM-DD, or Unix seconds at 00:00 UTC with date_format=unix",
        ),
        metadata=fields(
            "truncated!:bool total_symbols!:int symbols_returned!:int max_symbols:int?",
            "lookback_days:int date_format!:date_format omitted_symbols:[str]",
            "missing_symbols:[str] start_date:date? end_date:date?",
            date_format={"enum": ["iso", "unix"]},
        ),
    )
    etf_prices = fields(
        "as_of!:date? lookback_days:int dates!:[date] metadata:obj factors!:[factor]",
        factor=fields(
            "factor!:str etf_symbol!:str construction:str quote!:@Quote? adj_close!:[num?]"
        ),
    )
    return [
        op(
            "get /data/portfolios",
            "data_portfolios",
            "The caller's portfolios",
            response("Portfolios", fields("portfolios!:[@PortfolioSummary] count!:int")),
        ),
        op(
            "get /data/positions/details",
            "data_positions_details",
            "Valued positions of one portfolio",
            response("Positions", ref("PositionsView")),
            query=[id_query(required=True)],
            errors=(404,),
        ),
        op(
            "get /data/portfolio/{portfolio_id}/complete",
            "data_portfolio_complete",
            "Positions, prices as of the last price date and totals",
            response("Complete raw portfolio data", complete),
        ),
        op(
            "get /data/portfolio/{portfolio_id}/data-quality",
            "data_portfolio_data_quality",
            "Price coverage per symbol over the look-back",
            response("Coverage", coverage),
            query=query_parameters(DataQualityParams),
        ),
        op(
            "get /data/prices/historical/{portfolio_id}",
            "data_prices_historical",
            "Daily prices of the portfolio's symbols on one date axis",
            response("Aligned prices", aligned),
            query=query_parameters(HistoricalPricesParams),
        ),
        op(
            "get /data/prices/quotes",
            "data_prices_quotes",
            "Last price, date and one-day change",
            response(
                "Quotes",
                fields("as_of!:date? quotes!:[@Quote] unknown_symbols!:[str] metadata:obj"),
            ),
            query=[
                csv_query(
                    "symbols",
                    SYMBOL_ITEM,
                    "Symbols, e.g. AAPL,MSFT.",
                    required=True,
                    max_items=data_api.MAX_QUOTES,
                )
            ],
        ),
        op(
            "get /data/factors/etf-prices",
            "data_factor_etf_prices",
            "The factor ETFs' recent prices",
            response("Factor ETF prices", etf_prices),
            query=query_parameters(EtfPricesParams),
        ),
    ]


def _analytics_operations() -> list[Operation]:
    page = [
        int_query("limit", analytics_api.LIMIT, "Page size."),
        int_query("offset", analytics_api.OFFSET, "Rows to skip."),
    ]
    symbols = csv_query("symbols", SYMBOL_ITEM, "Only these symbols (or underlyings).")
    scenario_ids = {"type": "string", "enum": [s.id for s in load_scenarios()]}
    stress = [
        csv_query(
            "scenarios",
            scenario_ids,
            "Scenario ids (unknown ids are a 400); each named scenario carries its positions "
            "and move_explained rows.",
        ),
        _query("category", {"type": "string", "enum": list(CATEGORIES)}, None),
    ]
    definitions = fields(
        "factors!:[factor] count!:int",
        factor=fields(
            "name!:str etf_symbol!:str short_symbol:str? construction!:construction",
            "hedged_against:[str] formula:str? description!:str",
            # The engine's FACTORS: raw ETF returns, or returns hedged on other factors (v2).
            construction={"enum": sorted({f.construction for f in FACTORS})},
        ),
    )

    # available: false answers carry reason and message instead (too little history).
    validation = fields(
        "available!:bool as_of:date? price_version:int reason:str? message:str?",
        "method:str window:int models:[str] baseline:str labels:{str} market_only_models:[str]",
        "shipped:shipped table:[row] average_rmse:{num?} average_mae:{num?}",
        "rmse_improvement_vs_raw_capm:{num?} episodes:[episode]",
        shipped="market_only!:str all_factors!:str improvement_market_only!:num "
        "improvement_all_factors!:num baseline!:str",
        row="episode!:str model!:str rmse:num? mae:num?",
        episode=fields(
            "id!:str name!:str start!:date end!:date fit_start!:date fit_end!:date",
            "fit_observations!:int market_move:num? factor_moves:{num?} symbols!:int",
            "rmse!:{num?} mae!:{num?} blume_fit:obj left_out:[str] pairs!:[pair]",
            pair="symbol!:str realized:num? predicted!:{num?}",
        ),
    )

    def result(
        segment: str, name: str, summary: str, payload: str, query: Sequence[dict] = ()
    ) -> Operation:
        """One stored result of a portfolio, answered in its envelope (``<payload>Result``)."""
        path = "get /analytics/portfolio/{portfolio_id}/" + segment
        ok = response(summary, ref(f"{payload}Result"))
        return op(path, f"analytics_{name}", summary, ok, query=query)

    return [
        result("overview", "overview", "Portfolio overview", "Overview"),
        result(
            "correlation-matrix",
            "correlation_matrix",
            "Correlation matrix of the largest holdings",
            "Correlation",
            query_parameters(CorrelationMatrixParams),
        ),
        result(
            "diversification-score",
            "diversification_score",
            "Diversification score",
            "Diversification",
            query_parameters(DiversificationParams),
        ),
        result(
            "factor-exposures", "factor_exposures", "Portfolio factor exposures", "FactorExposures"
        ),
        result(
            "positions/factor-exposures",
            "position_factor_exposures",
            "Per-position factor exposures (paginated)",
            "PositionFactor",
            [*page, symbols],
        ),
        result(
            "risk-metrics", "risk_metrics", "Risk metrics", "Risk", query_parameters(RiskParams)
        ),
        result("stress-test", "stress_test", "Stress test results", "Stress", stress),
        result("greeks", "greeks", "Option Greeks", "Greeks"),
        result("performance", "performance", "Performance vs SPY", "Performance"),
        result(
            "forward-range",
            "forward_range",
            "Forward range: Monte Carlo bands at 6 months and 1 year",
            "ForwardRange",
            query_parameters(ForwardRangeParams),
        ),
        result(
            "risk-score", "risk_score", "Risk score against the client's tolerance", "RiskScore"
        ),
        op(
            "get /analytics/factors/definitions",
            "analytics_factor_definitions",
            "Factor definitions",
            response("The factors", definitions),
        ),
        op(
            "get /analytics/model-validation",
            "analytics_model_validation",
            "Out-of-sample validation of the stress models on the stored prices",
            response("Every model's errors per historical episode", validation),
        ),
    ]


def _client_operations() -> list[Operation]:
    one_client = "/management/clients/{client_id}"
    one_household = "/management/households/{portfolio_id}"
    item = "id!:int name!:str"
    profile = fields(
        "id!:int client_id!:int version!:str answered_at!:ts answers!:{str} score!:int",
        "category!:str willingness!:num capacity!:num capped!:bool loss_limit_pct!:num",
        "description!:str",
    )
    client = fields(
        "id!:int name!:str email!:str notes!:str accounts!:[item] households!:[item]",
        "profile!:profile? created_at!:ts updated_at!:ts",
        item=item,
        profile=profile,
    )
    household = fields(
        "id!:int name!:str client!:item? members!:[item] synced_at!:ts? created_at!:ts",
        item=item,
    )
    name = {"type": "string", "pattern": r"\S", "maxLength": clients_svc.MAX_NAME}
    the_client = response("The client", client)
    the_household = response("The household", household)
    deleted = {"description": "Deleted"}
    return [
        op(
            "get /management/clients",
            "management_list_clients",
            "The caller's clients (paginated)",
            response("Clients", fields("clients!:[c] total!:int limit!:int offset!:int", c=client)),
            query=query_parameters(ClientListParams),
        ),
        op(
            "post /management/clients",
            "management_create_client",
            "Create a client (portfolio_ids: their accounts and households)",
            the_client,
            status=201,
            body=fields("name!:name email:str? notes:str? portfolio_ids:[id]", name=name),
        ),
        op("get " + one_client, "management_get_client", "One client", the_client),
        op(
            "put " + one_client,
            "management_update_client",
            "Change a client: fields sent change; portfolio_ids replaces their portfolios",
            the_client,
            body=fields("name:name email:str? notes:str? portfolio_ids:[id]", name=name),
        ),
        op(
            "delete " + one_client,
            "management_delete_client",
            "Delete a client and their questionnaires (their accounts stay, unlinked)",
            deleted,
            status=204,
        ),
        op(
            "get " + one_client + "/questionnaire",
            "management_get_questionnaire",
            "The risk questionnaire's questions and the client's history, newest first",
            response(
                "Questions and history",
                fields(
                    "version!:str method!:str questions!:[obj] history!:[profile]",
                    profile=profile,
                ),
            ),
        ),
        op(
            "post " + one_client + "/questionnaire",
            "management_record_questionnaire",
            "Score and store a completed questionnaire (a new profile; old ones never change)",
            response("The stored profile", profile),
            status=201,
            body=fields("answers!:{str}"),
        ),
        op(
            "get /management/households",
            "management_list_households",
            "The caller's households with their accounts (paginated)",
            response(
                "Households",
                fields("households!:[h] total!:int limit!:int offset!:int", h=household),
            ),
            query=query_parameters(HouseholdListParams),
        ),
        op(
            "post /management/households",
            "management_create_household",
            "Create a household of the caller's accounts (its combined book is a portfolio)",
            the_household,
            status=201,
            body=fields("name!:name account_ids!:[id] client_id:id?", name=name),
        ),
        op("get " + one_household, "management_get_household", "One household", the_household),
        op(
            "put " + one_household,
            "management_update_household",
            "Rename, change accounts or client (null unlinks); fields sent change",
            the_household,
            body=fields("name:name account_ids:[id] client_id:id?", name=name),
        ),
        op(
            "delete " + one_household,
            "management_delete_household",
            "Delete the household's combined book (the accounts stay)",
            deleted,
            status=204,
        ),
    ]


def _export_operations() -> list[Operation]:
    sides = {"enum": ["BUY", "SELL", "SELL_SHORT", "BUY_TO_COVER"]}
    # Column names with spaces: the broker's own headers, so not a fields() spec.
    trade = obj(
        ("Action", "Symbol", "Quantity", "Order Type", "Est. Price", "Est. Value"),
        **{
            "Action": sides,
            "Symbol": STRING,
            "Quantity": NUMBER,
            "Order Type": {"const": "MARKET"},
            "Est. Price": nullable(NUMBER),
            "Est. Value": nullable(NUMBER),
        },
    )
    to_target = fields(
        "portfolio_id!:id close_unlisted:close_unlisted target!:target",
        close_unlisted={
            **BOOLEAN,
            "default": True,
            "description": "Close open positions the target omits.",
        },
        target=arr(
            fields(
                "symbol!:str quantity!:quantity",
                quantity={**NUMBER, "description": "Signed target (negative = short)."},
            ),
            minItems=1,
        ),
    )
    explicit = fields(
        "portfolio_id!:id trades!:trades",
        trades=arr(
            fields(
                "symbol!:str side!:side quantity!:quantity",
                side=sides,
                quantity={"type": "number", "exclusiveMinimum": 0},
            ),
            minItems=1,
        ),
    )
    everything = fields(
        "format!:str portfolio!:@PortfolioSummary positions!:[@ValuedPosition] prices!:obj",
        "analytics!:obj factor_definitions:[obj]",
    )
    orders = fields(
        "portfolio_id!:int as_of!:date? columns:[str] trades!:[trade] count!:int", trade=trade
    )
    disposition = {
        "required": True,
        "schema": STRING,
        "description": 'attachment; filename="<name>-<as-of>.<ext>"',
    }
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    binary = {"type": "string", "contentMediaType": "application/octet-stream"}
    return [
        op(
            "get /export/portfolio/{portfolio_id}",
            "export_portfolio",
            "Download the portfolio",
            response(
                "json: everything (positions, prices, every stored result); "
                "csv: open positions in the canonical import format; xlsx: workbook",
                headers={"Content-Disposition": disposition},
                content={
                    "application/json": {"schema": everything},
                    "text/csv": {"schema": STRING},
                    xlsx: {"schema": binary},
                },
            ),
            query=[enum_query("format", ("json", "csv", "xlsx"), "json", "File format.")],
        ),
        op(
            "post /export/trades",
            "export_trades",
            "Trade list (target vs current, or explicit trades)",
            response(
                "Broker-style orders",
                content={
                    "application/json": {"schema": orders},
                    "text/csv": {"schema": STRING},
                },
            ),
            query=[enum_query("format", ("json", "csv"), "json", "Output format.")],
            body={"oneOf": [to_target, explicit]},
            errors=(404,),  # the body's portfolio_id
        ),
    ]


def _system_operations() -> list[Operation]:
    runs = fields("runs!:[@BatchRun] count!:int")
    job = fields(
        "job_id!:str status!:str progress!:progress current_step:str? result:any error:str?",
        "enqueued_at:ts? started_at:ts? ended_at:ts?",
        progress={"type": ["integer", "number"]},
    )
    job_run = {"allOf": [ref("BatchRun"), fields("job_id!:str")]}
    step_runs = fields("runs!:[@BatchRun] count!:int step!:str")
    return [
        op(
            "post /system/batch/portfolio/{portfolio_id}",
            "system_batch_portfolio",
            "Queue the portfolio's calculation batch",
            response("Queued (or the already queued run)", ref("BatchRun")),
            status=202,
        ),
        op(
            "post /system/batch/run-all",
            "system_batch_run_all",
            "Queue a batch for every portfolio of the caller",
            response("Queued", runs),
            status=202,
        ),
        op(
            "get /system/jobs/{job_id}",
            "system_job",
            "Job status, progress, current step and result",
            response("Job", job),
        ),
        op(
            "get /system/jobs/{job_id}/result",
            "system_job_result",
            "The finished job's run: status, steps and error (409 while it runs)",
            response("The run", job_run),
            errors=(409,),
        ),
        op(
            "post /system/jobs/{job_id}/cancel",
            "system_job_cancel",
            "Cancel a queued or running job (409 once finished)",
            response("Cancelled", job_run),
            status=202,
            errors=(409,),
        ),
        *[
            op(
                f"post /system/batch/{segment}",
                "system_batch_" + segment.replace("-", "_"),
                f"Queue the {segment} calculation (batch step {step!r} and what it needs)",
                response("Queued", step_runs),
                status=202,
                query=[id_query()],
                errors=(404,),
            )
            for segment, step in system_api.STEP_TRIGGERS.items()
        ],
        op(
            "post /system/batch/market-data",
            "system_batch_market_data",
            "Queue the price sync from the configured provider",
            response("Queued", fields("job_id!:str status!:str")),
            status=202,
        ),
        op(
            "get /system/batch/status",
            "system_batch_status",
            "The caller's queued and running runs, and the queue",
            response(
                "Status",
                fields(
                    "active!:[@BatchRun] active_count!:int queue!:queue",
                    queue="available!:bool queued_jobs:int workers:int busy_workers:int "
                    "message:str",
                ),
            ),
            query=[id_query()],
            errors=(404,),
        ),
        op(
            "get /system/batch/history",
            "system_batch_history",
            "Recent batch runs",
            response("Runs", runs),
            query=[int_query("limit", system_api.HISTORY_LIMIT, "How many runs."), id_query()],
            errors=(404,),  # the query's portfolio_id
        ),
    ]


def _management_operations() -> list[Operation]:
    one_portfolio = "/management/portfolios/{portfolio_id}"
    positions = one_portfolio + "/positions"
    one_position = positions + "/{position_id}"
    the_portfolio = response("The portfolio", ref("Portfolio"))
    the_position = response("The position", ref("Position"))
    deleted = {"description": "Deleted"}
    # A name is some non-blank text, at most the column's length.
    portfolio_body = fields(
        "name!:name description:str cash:amount benchmark:str",
        name={"type": "string", "pattern": r"\S", "maxLength": mgmt.MAX_NAME},
    )
    position_body = fields(
        "symbol!:str quantity!:amount entry_price!:amount entry_date:str position_type:str",
        "tags:any strategy:str notes:str funding:funding fees:amount",
        funding={"enum": ["transfer", "cash"], "description": mgmt.FUNDING_NOTE},
    )
    ledger_path = one_portfolio + "/transactions"
    kinds = {"type": "string", "enum": list(mgmt.ENTRY_KINDS)}
    entry_body = fields(
        "kind!:kind trade_date:str amount:amount symbol:str quantity:amount price:amount",
        "fees:amount position_type:str underlying_symbol:str strike_price:amount",
        "expiration_date:str position_id:int notes:str",
        kind=kinds,
    )
    upload = fields(
        "file!:csv mode:mode name:str description:str cash:str",
        csv={"type": "string", "contentMediaType": "text/csv"},
        mode={"enum": ["validate", "commit"]},
    )
    tags = fields("tags!:[tag] count:int", tag="id!:int name!:str color:str position_count:int")
    # PUT and PATCH take the same body and answer the same.
    updates = [
        op(
            f"{method} {path}",
            f"management_{method}_{noun}",
            f"Update a {noun} ({method.upper()})",
            answer,
            body=body,
        )
        for path, noun, answer, body in (
            (one_portfolio, "portfolio", the_portfolio, portfolio_body),
            (one_position, "position", the_position, position_body),
            ("/management/positions/{position_id}", "any_position", the_position, position_body),
        )
        for method in ("put", "patch")
    ]
    flat = "/management/positions/{position_id}"
    listed = fields(
        "positions!:[@Position] total!:int limit!:int offset!:int group_by:str groups:[group]",
        group="key!:str position_ids!:[int] count!:int",
    )
    strategies = fields(
        "strategies!:[strategy] count!:int",
        strategy="strategy!:str position_count!:int symbols!:[str] position_ids!:[int] "
        "portfolio_ids!:[int] cost_basis!:num",
    )
    return [
        *updates,
        op(
            "get /management/portfolios",
            "management_list_portfolios",
            "The caller's portfolios (paginated)",
            response(
                "Portfolios",
                fields("portfolios!:[@Portfolio] total!:int limit!:int offset!:int"),
            ),
            query=query_parameters(PortfolioListParams),
        ),
        op(
            "get /management/positions",
            "management_list_all_positions",
            "The caller's positions across portfolios: filtered, grouped, paginated",
            response("Positions", listed),
            query=query_parameters(PositionListParams),
            errors=(404,),  # the query's portfolio_id
        ),
        op(
            "post /management/positions",
            "management_create_any_position",
            "Add a position to one of the caller's portfolios (portfolio_id in the body)",
            the_position,
            status=201,
            body={"allOf": [position_body, fields("portfolio_id!:id")]},
            errors=(404,),
        ),
        op(
            f"get {flat}",
            "management_get_any_position",
            "One of the caller's positions",
            the_position,
        ),
        op(
            f"delete {flat}",
            "management_delete_any_position",
            "Delete one of the caller's positions",
            deleted,
            status=204,
        ),
        op(
            f"put {flat}/tags",
            "management_set_any_position_tags",
            "Replace the position's tags (unknown names become new tags)",
            the_position,
            body=fields("tags!:[str]"),
        ),
        op(
            "get /management/strategies",
            "management_list_strategies",
            "Open positions grouped by strategy",
            response("Strategies", strategies),
            query=query_parameters(StrategyListParams),
            errors=(404,),
        ),
        op(
            "post /management/portfolios",
            "management_create_portfolio",
            "Create a portfolio",
            the_portfolio,
            status=201,
            body=portfolio_body,
        ),
        op(
            "post /management/portfolios/upload",
            "management_upload",
            "Upload a holdings CSV (mode=validate|commit)",
            response("Validation report (mode=validate)", ref("ImportReport")),
            body=upload,
            media="multipart/form-data",
        ),
        op(
            f"delete {one_portfolio}",
            "management_delete_portfolio",
            "Delete a portfolio",
            deleted,
            status=204,
        ),
        op(
            f"get {positions}",
            "management_list_positions",
            "Positions of a portfolio",
            response("Positions", fields("positions!:[@Position]")),
        ),
        op(
            f"post {positions}",
            "management_create_position",
            "Add a position",
            the_position,
            status=201,
            body=position_body,
        ),
        op(f"get {one_position}", "management_get_position", "One position", the_position),
        op(
            f"delete {one_position}",
            "management_delete_position",
            "Delete a position",
            deleted,
            status=204,
        ),
        op(
            f"put {one_position}/tags",
            "management_set_position_tags",
            "Replace the position's tags (unknown names become new tags)",
            the_position,
            body=fields("tags!:[str]"),
        ),
        op(
            f"post {one_position}/close",
            "management_close_position",
            "Close a position",
            the_position,
            body=fields("exit_price!:amount exit_date:str quantity:amount fees:amount"),
            errors=(409,),  # already closed
        ),
        op(
            f"get {ledger_path}",
            "management_list_transactions",
            "The portfolio's ledger, newest first, with running cash",
            response(
                "Transactions",
                fields(
                    "transactions!:[@Transaction] count!:int total!:int limit!:int offset!:int",
                    "cash_balance!:num",
                ),
            ),
            query=[
                int_query("limit", management_api.LEDGER_LIMIT, "Rows per page"),
                int_query("offset", management_api.LEDGER_OFFSET, "Rows to skip"),
                _query("kind", kinds, "Only this kind"),
            ],
        ),
        op(
            f"post {ledger_path}",
            "management_create_transaction",
            "Book a cash entry, a trade (closing kinds close lots FIFO) or an option event",
            response(
                "The rows booked and the new cash",
                fields("transactions!:[@Transaction] cash_balance!:num"),
            ),
            status=201,
            body=entry_body,
        ),
        op(
            "get /management/tags",
            "management_list_tags",
            "The caller's tags",
            response("Tags", tags),
        ),
        op(
            "post /management/tags",
            "management_create_tag",
            "Create a tag",
            response("The tag", fields("id!:int name!:str color:str")),
            status=201,
            body=fields(
                "name!:name color:color",
                name={
                    "type": "string",
                    "pattern": r"^[^\x00-\x1f\x7f,;]*\S",
                    "maxLength": mgmt.MAX_TAG,
                },
                color={"type": "string", "pattern": mgmt.COLOR_RE.pattern},
            ),
            errors=(409,),  # the name is taken
        ),
        op(
            "delete /management/tags/{tag_id}",
            "management_delete_tag",
            "Delete a tag",
            deleted,
            status=204,
        ),
    ]


def _paths(operations: Iterable[Operation]) -> dict:
    """The path items: each path's operations by method."""
    paths: dict[str, dict] = {}
    for operation in operations:
        paths.setdefault(operation.path, {})[operation.method] = operation.spec
    return paths


@functools.cache
def document() -> dict:
    """The OpenAPI 3.1 document (built once: it depends only on code and the scenario library)."""
    meta = op(
        "get /openapi.json",
        "openapi_document",
        "This document",
        response("OpenAPI 3.1 document", ANY_OBJECT),
        public=True,
        tag="meta",
    )
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
        "paths": _paths(
            [
                *_auth_operations(),
                *_data_operations(),
                *_analytics_operations(),
                *_export_operations(),
                *_system_operations(),
                *_management_operations(),
                *_client_operations(),
                *alerts_api.openapi_operations(),
                *modelling_api.openapi_operations(),
                *reports_api.openapi_operations(),
                meta,
            ]
        ),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Token from POST /api/v1/auth/login (24 h).",
                },
                "authCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "auth_token",
                    "description": "HttpOnly cookie set by POST /api/v1/auth/login and /refresh "
                    "(the same token); cleared by /logout. Writes with it also need csrfHeader.",
                },
                "csrfHeader": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-CSRF-Token",
                    "description": "The csrf_token of the login response; required for writes "
                    "authenticated by the auth_token cookie (else 403 csrf_required).",
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
