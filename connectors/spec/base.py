"""What every spec model shares: frozen, unknown keys rejected (a typo in a spec file fails
loudly instead of being ignored), and the small value types of the format."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Method = Literal["GET", "POST", "PUT", "DELETE"]
ColumnType = Literal["integer", "number", "string", "array", "object", "any"]
ColumnFormat = Literal["unix_seconds", "date", "datetime"]
ObjectKind = Literal["table", "html", "commands", "tracker", "account", "recommendations"]
JsonScalar = str | int | float | bool | None

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
