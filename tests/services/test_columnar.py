"""Column-wise storage of row lists gives the rows back exactly."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from webapp.services import columnar

KEYS = ("position_id", "symbol", "pnl", "strike", "capped")
value = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
row = st.lists(st.sampled_from(KEYS), unique=True).flatmap(
    lambda keys: st.fixed_dictionaries({k: value for k in keys})
)


@given(st.lists(row, max_size=30))
def test_pack_then_unpack_is_the_identity_with_key_order(rows):
    packed = json.loads(json.dumps(columnar.pack(rows)))  # as stored and read back
    back = columnar.unpack(packed)
    assert back == rows
    assert [list(r) for r in back] == [list(r) for r in rows]


def test_rows_of_one_shape_share_one_set_of_columns():
    rows = [{"id": i, "pnl": -1.5 * i} for i in range(1000)]
    rows[7] = {"id": 7, "pnl": 2.0, "strike": 100.0}  # an option row: one more key
    packed = columnar.pack(rows)
    assert [(g["keys"], len(g["index"])) for g in packed["groups"]] == [
        (["id", "pnl"], 999),
        (["id", "pnl", "strike"], 1),
    ]
    assert len(json.dumps(packed)) < 0.7 * len(json.dumps(rows))
