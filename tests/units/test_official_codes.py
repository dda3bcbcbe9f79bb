"""The statistics office's commune codes: a database on the draft codes moves to them whole."""

import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.core.config import Settings
from app.core.context import WriteContext, bind_context
from app.core.db import make_engine
from app.core.migrate import alembic_config
from app.ledger.models import StatTotal
from app.ledger.rebuild import compare
from app.main import create_app
from app.seed import seed_all
from app.units import official
from app.units.models import Commune, Province
from tests.factories import CITIZEN_COURSES, Staff, complete, learner_payload
from tests.stats import oracle

KIM_LIEN_DRAFT, KIM_LIEN = "00226", "00229"
CUA_NAM_DRAFT, CUA_NAM = "00073", "00082"
VAN_MIEU = "00226"  # Phường Văn Miếu - Quốc Tử Giám: the draft gave its number to Kim Liên
RECODING = "0017"
# The communes whose codes vietnam-provinces 2025.10.1 (the draft decision) gave otherwise,
# as it spelled them: (draft code, province, name).
DRAFT_CODES = json.loads((Path(__file__).parent / "draft_commune_codes.json").read_text())
DRAFT_VERSION = official.UnitsVersion("2025.10.1", "2025-10-18")


def _draft_list() -> list[official.OfficialCommune]:
    """The commune list as the draft scheme had it."""
    draft = {
        (province, official.name_key(name)): (code, name) for code, province, name in DRAFT_CODES
    }
    communes = []
    for c in official.official_communes():
        code, name = draft.get((c.province_code, official.name_key(c.name)), (c.code, c.name))
        communes.append(
            official.OfficialCommune(code, c.province_code, name, c.division_type, c.codename)
        )
    return communes


def _draft_code(code: str) -> str:
    draft = [(c.code, c.province_code, c.name) for c in _draft_list()]
    moves = official.plan_recoding(draft, official.official_communes())
    return next((old for old, new in moves.items() if new == code), code)


def test_names_match_whatever_the_spelling_of_their_tones_but_not_other_letters() -> None:
    assert official.name_key("Xã Đàm Thuỷ") == official.name_key("Xã  Đàm Thủy")
    assert official.name_key("Xã Ea H’leo") == official.name_key("Xã Ea H'Leo")
    assert official.name_key("Phường Hoà Bình") == official.name_key("Phường Hòa Bình")
    assert official.name_key("Xã Văn Lăng") != official.name_key("Xã Văn Lãng")
    assert official.name_key("Xã Sơn Hạ") != official.name_key("Xã Sơn Hà")


def test_the_draft_list_differs_from_the_official_one_in_123_codes_9_of_them_reused() -> None:
    moves = official.plan_recoding(
        [(c.code, c.province_code, c.name) for c in _draft_list()], official.official_communes()
    )
    assert len(moves) == 123
    assert moves[KIM_LIEN_DRAFT] == KIM_LIEN and moves[CUA_NAM_DRAFT] == CUA_NAM
    official_codes = {c.code for c in official.official_communes()}
    assert len([code for code in moves if code in official_codes]) == 9


def test_a_stored_commune_the_official_list_lacks_stops_the_move_and_is_named() -> None:
    stored = [(KIM_LIEN_DRAFT, "01", "Phường Kim Liên"), ("00999", "01", "Phường Không Có")]
    with pytest.raises(official.UnmatchedUnits) as refused:
        official.plan_recoding(stored, official.official_communes())
    assert refused.value.unmatched == [("00999", "01", "Phường Không Có")]
    assert "Phường Không Có" in str(refused.value)


def _register_holders(client: TestClient, staff: Staff) -> dict[str, str]:
    """A certified learner in Kim Liên and one in Cửa Nam; answers learner id → commune."""
    placed = {}
    for serial, commune in ((1, KIM_LIEN), (2, CUA_NAM), (3, VAN_MIEU)):
        response = client.post(
            "/api/v1/learners", json=learner_payload(commune, serial), headers=staff["national"]
        )
        assert response.status_code == 201, response.text
        learner = response.json()["id"]
        for course in CITIZEN_COURSES:
            complete(client, staff["national"], learner, course)
        placed[learner] = commune
    return placed


def _communes_of(client: TestClient, staff: Staff, learners: dict[str, str]) -> dict[str, str]:
    return {
        learner: client.get(f"/api/v1/learners/{learner}", headers=staff["national"]).json()[
            "commune_code"
        ]
        for learner in learners
    }


def _units(session: Session) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    session.expire_all()
    provinces = session.exec(select(Province).order_by(Province.code)).all()
    communes = session.exec(select(Commune).order_by(Commune.code)).all()
    return (
        [(p.code, p.name, p.division_type, p.codename, p.name_folded) for p in provinces],
        [(c.code, c.province_code, c.name, c.codename, c.name_folded) for c in communes],
    )


@pytest.mark.long
def test_a_database_on_the_draft_codes_moves_to_the_official_ones_with_its_totals(
    client: TestClient, staff: Staff, session: Session, database_url: str
) -> None:
    placed = _register_holders(client, staff)
    # The same records as a database loaded from the draft list holds them.
    engine = make_engine(database_url)
    with engine.begin() as connection:
        official.recode_communes(
            connection, provinces=official.official_provinces(), communes=_draft_list()
        )
        connection.execute(sa.text("DROP TABLE reference_data"))
    drafts = _communes_of(client, staff, placed)
    assert drafts == {learner: _draft_code(code) for learner, code in placed.items()}
    assert set(drafts.values()) == {KIM_LIEN_DRAFT, CUA_NAM_DRAFT, "00196"}
    kim_lien_before = session.get(Commune, KIM_LIEN_DRAFT)
    assert kim_lien_before is not None and kim_lien_before.name == "Phường Kim Liên"
    session.expire_all()

    config = alembic_config(database_url)
    before = ScriptDirectory.from_config(config).get_revision(RECODING).down_revision
    assert isinstance(before, str)
    command.stamp(config, before)
    command.upgrade(config, RECODING)
    command.stamp(config, "head")

    # Each person is in their own commune again, under its official code; so are the totals.
    assert _communes_of(client, staff, placed) == placed
    session.expire_all()
    assert session.get(Commune, KIM_LIEN).name == "Phường Kim Liên"  # type: ignore[union-attr]
    assert session.get(Commune, VAN_MIEU).name == "Phường Văn Miếu - Quốc Tử Giám"  # type: ignore[union-attr]
    assert session.get(Commune, CUA_NAM_DRAFT) is None
    with engine.connect() as connection:
        assert official.loaded_version(connection) == official.installed_version()
    bind_context(session, WriteContext(18))
    assert compare(session).agree
    raw = oracle.load(session)
    for commune in (KIM_LIEN, CUA_NAM, VAN_MIEU):
        answer = client.get(
            f"/api/v1/stats/communes/{commune}",
            params={"as_of": date.today().isoformat()},
            headers=staff["national"],
        ).json()
        got = {
            i["indicator"]: (i["numerator"], i["denominator"], i["denominator_source"])
            for i in answer["indicators"]
        }
        assert got == oracle.indicators(raw, "commune", commune, date.today())
        assert got["adults_certified"][0] == 1
    stale = session.exec(
        select(StatTotal).where(StatTotal.level == "commune", StatTotal.unit_code == CUA_NAM_DRAFT)
    ).all()
    assert stale == []

    # Seeding afterwards changes nothing.
    units = _units(session)
    seed_all(session)
    session.commit()
    assert _units(session) == units
    engine.dispose()


def test_the_service_refuses_to_start_on_units_of_another_list(
    settings: Settings, database_url: str
) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        official.record_version(connection, DRAFT_VERSION)
    engine.dispose()
    with pytest.raises(RuntimeError, match=r"2025\.10\.1"), TestClient(create_app(settings)):
        pass
