"""What every read model shares: camelCase aliases, tolerant of fields it does not know."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Document(BaseModel):
    """A Firestore document as stored; `id` is the document id, not a stored field."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    id: str = ""

    @classmethod
    def from_snapshot(cls, snapshot: Any) -> Self | None:
        if snapshot is None or not snapshot.exists:
            return None
        return cls.model_validate({**(snapshot.to_dict() or {}), "id": snapshot.id})
