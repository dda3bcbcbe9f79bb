"""The phone outbox: a batch of learners and completions, and a result per record."""

import uuid
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from app.learners.schemas import LearnerCreate
from app.training.schemas import CompletionCreate

MAX_SYNC_RECORDS = 1000

# Records stay loose JSON objects here: each is validated on its own, so one malformed record
# is rejected with its problem while the others are stored.
Record = Annotated[dict[str, Any], Field(description="Một bản ghi / One record")]


class SyncLearner(LearnerCreate):
    """A learner from a phone: `client_id` (the phone's UUID) is required.

    A record made on the old map gives `legacy_commune_code` (the commune's code before
    1 July 2025) instead of, or with, `commune_code`.
    """

    client_id: uuid.UUID
    legacy_commune_code: Annotated[str, StringConstraints(pattern=r"^\d{5}$")] | None = Field(
        default=None,
        description=(
            "Mã xã cũ (trước 1/7/2025): nhập nguyên vào một xã mới thì lưu ở đó; bị chia thì"
            " cần commune_code là một trong các xã mới / the old commune code: one that went"
            " whole is stored in its new commune; one split needs commune_code, one of them"
        ),
    )


class SyncCompletion(CompletionCreate):
    """A completion from a phone, for a stored learner or one in the same batch."""

    learner_id: uuid.UUID | None = None  # type: ignore[assignment]
    learner_client_id: uuid.UUID | None = Field(
        default=None, description="client_id của người học trong cùng lô / the learner's client_id"
    )
    client_id: uuid.UUID

    @model_validator(mode="after")
    def _one_learner_reference(self) -> Self:
        if (self.learner_id is None) == (self.learner_client_id is None):
            raise PydanticCustomError("sync.learner_ref", "Give learner_id or learner_client_id")
        return self


class SyncRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "learners": [
                        {
                            "client_id": "0b8f6a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
                            "citizen_id": "001085012345",
                            "full_name": "Nguyễn Văn An",
                            "birth_date": "1985-04-12",
                            "sex": "male",
                            "commune_code": "00070",
                            "groups": ["citizen"],
                            "consent": {
                                "purpose": "Theo dõi kết quả học kỹ năng số",
                                "given_at": "2026-03-01T09:00:00+07:00",
                            },
                        }
                    ],
                    "completions": [
                        {
                            "client_id": "9b2d7c1e-5a3f-4e8b-b1c2-7d6e5f4a3b21",
                            "learner_client_id": "0b8f6a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
                            "course_code": "CB-VNEID",
                            "completed_at": "2026-03-14T09:30:00+07:00",
                            "score": 85,
                            "method": "home_visit",
                        }
                    ],
                }
            ]
        },
    )

    learners: list[Record] = Field(
        default_factory=list,
        description="Người học (như POST /learners, thêm client_id) / Learners, with client_id",
    )
    completions: list[Record] = Field(
        default_factory=list,
        description=(
            "Kết quả học (như POST /completions; learner_id hoặc learner_client_id) / "
            "Completions, with client_id and learner_id or learner_client_id"
        ),
    )

    @model_validator(mode="after")
    def _not_too_many(self) -> Self:
        if len(self.learners) + len(self.completions) > MAX_SYNC_RECORDS:
            raise PydanticCustomError(
                "sync.too_many", "Too many records", {"limit": MAX_SYNC_RECORDS}
            )
        return self


RecordKind = Literal["learner", "completion"]
RecordStatus = Literal["created", "duplicate", "rejected"]


class SyncResult(BaseModel):
    client_id: uuid.UUID | None = Field(
        description="client_id của bản ghi (null nếu không đọc được) / the record's client_id"
    )
    kind: RecordKind
    status: RecordStatus = Field(
        description=(
            "created: đã lưu; duplicate: đã có (id là bản đã lưu); rejected: xem problem / "
            "created; duplicate (id is the stored record); rejected (see problem)"
        )
    )
    id: uuid.UUID | None = None
    problem: dict[str, Any] | None = Field(
        default=None, description="problem+json của bản ghi bị từ chối / why it was rejected"
    )


class SyncResponse(BaseModel):
    results: list[SyncResult]
