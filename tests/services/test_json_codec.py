"""The stored-result encoder gives what the recursive ``jsonable`` pass gave, without it."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from webapp import json_codec
from webapp.extensions import db
from webapp.models import AnalyticsResult
from webapp.services.jsonable import jsonable
from webapp.services.results import store_result

MIXED = {
    "nan": float("nan"),
    "inf": -float("inf"),
    "np": np.float64(1.25),
    "np_nan": np.float64("nan"),
    "int": np.int64(7),
    "flag": np.bool_(True),
    "day": dt.date(2026, 8, 3),
    "stamp": pd.Timestamp("2026-08-03"),
    "moment": dt.datetime(2026, 8, 3, 14, 5, 6, 789),
    "tuple": (1, "a", None),
    "keys": {1: "int key", dt.date(2026, 1, 2): "date key"},
    "nested": [{"x": np.float32(0.5), "y": [np.int32(2), float("nan")]}],
}


def test_a_mixed_engine_output_encodes_as_jsonable_would():
    assert json_codec.loads(json_codec.dumps(MIXED)) == json.loads(json.dumps(jsonable(MIXED)))


def test_numpy_arrays_are_lists_with_nan_as_null():
    assert json_codec.loads(json_codec.dumps({"a": np.array([[1.5, np.nan]])})) == {
        "a": [[1.5, None]]
    }


def test_numpy_keys_fall_back_to_their_text():
    assert json_codec.loads(json_codec.dumps({np.int64(3): 1, "a": {np.int16(2): 2}})) == {
        "3": 1,
        "a": {"2": 2},
    }


def test_an_unknown_type_is_refused():
    try:
        json_codec.dumps({"x": object()})
    except TypeError as exc:
        assert "not JSON serializable" in str(exc)
    else:
        raise AssertionError("an object() was encoded")


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats() | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )
)
def test_any_plain_value_round_trips_like_jsonable(value):
    assert json_codec.loads(json_codec.dumps(value)) == json.loads(json.dumps(jsonable(value)))


def test_a_stored_payload_reads_back_json_ready(factory):
    portfolio = factory.portfolio(factory.user())
    row = store_result(portfolio.id, "probe", MIXED, as_of=dt.date(2026, 8, 3))
    db.session.commit()
    row_id = row.id
    db.session.expunge_all()  # read from the database, not the session's copy
    stored = db.session.get(AnalyticsResult, row_id).payload
    assert stored == json.loads(json.dumps(jsonable(MIXED)))
    assert stored["nan"] is None and stored["stamp"] == "2026-08-03T00:00:00"
