"""Row lists stored column-wise: one list per key instead of the keys repeated in every row.

A stress scenario's position detail is 10,000 rows of the same 8 (stock) or 20 (option) keys;
stored as rows, the key names are most of its bytes and a dict per row is most of its decoding
time. ``pack`` groups the rows by their key tuple (rows of one shape share one set of columns),
``unpack`` gives the rows back exactly: same order, same keys in the same order, same values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def pack(rows: Sequence[Mapping[str, Any]]) -> dict:
    """``{"rows": n, "groups": [{"keys", "index", "columns"}]}``.

    A group holds the rows with one key tuple: ``index`` their positions in ``rows``, and
    ``columns[j]`` the values of ``keys[j]`` in ``index`` order.
    """
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(tuple(row), []).append(i)
    packed = []
    for keys, index in groups.items():
        members = [rows[i] for i in index]
        packed.append(
            {
                "keys": list(keys),
                "index": index,
                "columns": [[row[key] for row in members] for key in keys],
            }
        )
    return {"rows": len(rows), "groups": packed}


def unpack(packed: Mapping[str, Any]) -> list[dict]:
    """The rows ``pack`` was given (as new dicts)."""
    rows: list[dict] = [{} for _ in range(packed["rows"])]
    for group in packed["groups"]:
        keys = group["keys"]
        if not keys:
            continue  # rows without keys: the empty dicts are already there
        for i, values in zip(group["index"], zip(*group["columns"], strict=True), strict=True):
            rows[i] = dict(zip(keys, values, strict=True))
    return rows
