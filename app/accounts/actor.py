"""Who is calling, and what part of the country they may see."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, true

from app.accounts.models import ROLE_RANK, Role
from app.core.errors import Forbidden, NotFound


@dataclass(frozen=True)
class Actor:
    user_id: int
    username: str
    role: Role
    province_code: str | None
    commune_code: str | None
    team_id: int | None = None

    @property
    def audit_id(self) -> str:
        return f"user:{self.user_id}"

    @property
    def rank(self) -> int:
        return ROLE_RANK[self.role]

    def covers(self, province_code: str | None, commune_code: str | None) -> bool:
        """Whether a record in that province and commune lies inside this actor's scope."""
        if self.role is Role.national_admin:
            return True
        if self.role is Role.province_admin:
            return province_code is not None and province_code == self.province_code
        return commune_code is not None and commune_code == self.commune_code

    def scope_clause(self, province_column: Any, commune_column: Any) -> ColumnElement[bool]:
        """A WHERE clause that keeps only rows inside this actor's scope."""
        if self.role is Role.national_admin:
            return true()
        if self.role is Role.province_admin:
            return province_column == self.province_code  # type: ignore[no-any-return]
        return commune_column == self.commune_code  # type: ignore[no-any-return]

    def require(self, *roles: Role, action: str) -> None:
        """Refuse (403, audited) unless the actor holds one of `roles`."""
        if self.role not in roles:
            raise Forbidden(audit_action=action)

    def require_in_scope(
        self,
        province_code: str | None,
        commune_code: str | None,
        *,
        what: str,
        action: str,
        target: object = None,
    ) -> None:
        """Answer 404 (audited as a denial) for anything outside the actor's scope."""
        if not self.covers(province_code, commune_code):
            raise NotFound(
                what,
                audit_action=action,
                audit_target=None if target is None else str(target),
                audit_commune=commune_code,
            )
