"""/management/clients and /management/households."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from webapp.schemas.api.base import ApiModel, Id, Timestamp
from webapp.services import clients as svc

ClientName = Annotated[str, Field(pattern=r"\S", max_length=svc.MAX_NAME)]


class NamedRef(ApiModel):
    """A portfolio or client by id and name."""

    id: int
    name: str


class RiskProfile(ApiModel):
    """One scored risk questionnaire: answers, score (1-99) and category, willingness and capacity
    (0-1), and the loss limit in percent (10.0 = 10%)."""

    id: int
    client_id: int
    version: str
    answered_at: Timestamp
    answers: dict[str, str]
    score: int
    category: str
    willingness: float
    capacity: float
    capped: bool
    loss_limit_pct: float
    description: str


class Client(ApiModel):
    """A client: their details, accounts, households and latest risk profile (null if none yet)."""

    id: int
    name: str
    email: str
    notes: str
    accounts: list[NamedRef]
    households: list[NamedRef]
    profile: RiskProfile | None
    created_at: Timestamp
    updated_at: Timestamp


class ClientList(ApiModel):
    """A page of the caller's clients, with the total count and the paging used."""

    clients: list[Client]
    total: int
    limit: int
    offset: int


class CreateClientBody(ApiModel):
    """A new client: name, optional e-mail and notes, and the portfolios to link."""

    name: ClientName
    email: str | None = None
    notes: str | None = None
    portfolio_ids: list[Id] = None


class UpdateClientBody(ApiModel):
    """Changes to a client: the fields sent change; portfolio_ids replaces their portfolios."""

    name: ClientName = None
    email: str | None = None
    notes: str | None = None
    portfolio_ids: list[Id] = None


class QuestionChoice(ApiModel):
    """One answer of a question: its value, label and points (ceiling and loss limit where the
    answer caps the score or sets the client's loss limit, in percentage points)."""

    value: str
    label: str
    points: float
    ceiling: int | None
    loss_limit_pct: float | None


class Question(ApiModel):
    """One question of the risk questionnaire: its key, text, dimension and choices."""

    key: str
    text: str
    dimension: Literal["capacity", "willingness"]
    choices: list[QuestionChoice]


class GetQuestionnaireResponse(ApiModel):
    """The current risk questionnaire (version, scoring method, questions) and the client's
    past profiles, newest first."""

    version: str
    method: str
    questions: list[Question]
    history: list[RiskProfile]


class RecordQuestionnaireBody(ApiModel):
    """A completed questionnaire: the chosen answer's value per question key."""

    answers: dict[str, str]


class Household(ApiModel):
    """A household: its combined book's id and name, its client, member accounts and when the book
    was last synced."""

    id: int
    name: str
    client: NamedRef | None
    members: list[NamedRef]
    synced_at: Timestamp | None
    created_at: Timestamp


class HouseholdList(ApiModel):
    """A page of the caller's households, with the total count and the paging used."""

    households: list[Household]
    total: int
    limit: int
    offset: int


class CreateHouseholdBody(ApiModel):
    """A new household: its name, member accounts and optional client."""

    name: ClientName
    account_ids: list[Id]
    client_id: Id | None = None


class UpdateHouseholdBody(ApiModel):
    """Changes to a household: the fields sent change (client_id null unlinks the client)."""

    name: ClientName = None
    account_ids: list[Id] = None
    client_id: Id | None = None
