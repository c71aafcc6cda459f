"""docs/API.md and the README's path table list every operation, and each example still parses.

Both are written by ``make api-docs`` (tools/api_reference.py) from real answers of the demo
data; these tests fail when the document gains an operation, or a response model changes, and
the reference was not regenerated.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.api.test_api_openapi import DOCUMENT
from webapp.api.apidoc import declared

ROOT = Path(__file__).resolve().parents[2]
API_MD = (ROOT / "docs" / "API.md").read_text()
README = (ROOT / "README.md").read_text()
OPERATIONS = sorted(
    (method, path, op["operationId"])
    for path, item in DOCUMENT["paths"].items()
    for method, op in item.items()
)


def _sections() -> dict[tuple[str, str], str]:
    """docs/API.md's text per (method, path) heading."""
    parts = re.split(r"^### (\w+) (\S+)$", API_MD, flags=re.M)
    return {(m.lower(), p): body for m, p, body in zip(parts[1::3], parts[2::3], parts[3::3])}


SECTIONS = _sections()


def test_the_reference_has_one_section_per_operation():
    assert set(SECTIONS) == {(m, p) for m, p, _ in OPERATIONS}


def test_the_readme_lists_every_path():
    table = README.split("<!-- API-REFERENCE:START -->", 1)[1].split("<!-- API-REFERENCE:END -->")[
        0
    ]
    rows = set(re.findall(r"^\| (\w+) \| `([^`]+)` \|", table, flags=re.M))
    assert rows == {(m.upper(), p.removeprefix("/api/v1")) for m, p, _ in OPERATIONS}


@pytest.mark.parametrize(("method", "path", "operation_id"), OPERATIONS)
def test_each_example_parses_with_the_declared_response_model(method, path, operation_id):
    body = SECTIONS[(method, path)]
    blocks = re.findall(r"```json\n(.*?)\n```", body, flags=re.S)
    model = declared(operation_id).ok
    status = int(re.search(r"→ (\d{3})", body).group(1))
    assert status == declared(operation_id).status
    if model is None:  # no body (204) or a file download
        assert not blocks or "requestBody" in DOCUMENT["paths"][path][method]
        return
    assert blocks, f"{method} {path}: no example answer"
    model.model_validate(json.loads(blocks[-1]))
