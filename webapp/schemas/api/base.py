"""The building blocks of the API's declared shapes: the base model and the scalar types.

Every request body and response of /api/v1 is a model under ``webapp.schemas.api``; the OpenAPI
document (``webapp.api.apidoc``) is generated from them and the routes. Responses may grow: a
model lists what a client can rely on, and extra keys are allowed.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

#: A database id (PostgreSQL INTEGER).
Id = Annotated[int, Field(ge=1, le=2_147_483_647)]
#: A calendar date, YYYY-MM-DD (DESIGN "Time"); the pattern makes the contract tests enforce it.
IsoDate = Annotated[
    str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", json_schema_extra={"format": "date"})
]
#: A UTC timestamp in ISO 8601 with a Z suffix (DESIGN "Time").
Timestamp = Annotated[str, Field(pattern=r"Z$", json_schema_extra={"format": "date-time"})]


class ApiModel(BaseModel):
    """A declared request or response shape (aliases for names that clash with pydantic's)."""

    model_config = ConfigDict(populate_by_name=True)
