"""Indicators computed the slow, obvious way from the raw records, to check the fast ones."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from sqlmodel import Session, select

from app.catalog.models import Program, ProgramCourse
from app.certificates.models import Certificate
from app.learners.models import Learner
from app.stats.models import Baseline
from app.units.models import Commune, Village

VN = timezone(timedelta(hours=7))


def vn_day(moment: datetime) -> date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VN).date()


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@dataclass
class Raw:
    learners: list[Learner]
    certificates: dict[object, list[Certificate]]
    standards: dict[str, set[str]]  # group -> programs meeting its standard
    communes: dict[str, str]  # commune -> province
    villages: dict[str, str]  # village id -> commune
    baselines: dict[tuple[str, int], Baseline]


def load(session: Session) -> Raw:
    required: dict[str, set[str]] = defaultdict(set)
    for link in session.exec(select(ProgramCourse)).all():
        required[link.program_code].add(link.course_code)
    standards = {}
    for program in session.exec(select(Program)).all():
        if program.default_for:
            base = required[program.code]
            standards[program.default_for] = {p for p, cs in required.items() if base <= cs}
    certificates: dict[object, list[Certificate]] = defaultdict(list)
    for certificate in session.exec(select(Certificate)).all():
        certificates[certificate.learner_id].append(certificate)
    return Raw(
        learners=list(session.exec(select(Learner)).all()),
        certificates=certificates,
        standards=standards,
        communes={c.code: c.province_code for c in session.exec(select(Commune)).all()},
        villages={str(v.id): v.commune_code for v in session.exec(select(Village)).all()},
        baselines={(b.commune_code, b.year): b for b in session.exec(select(Baseline)).all()},
    )


def _valid(certificate: Certificate, day: date, delivered: bool = False) -> bool:
    start = certificate.vneid_delivered_at if delivered else certificate.attained_at
    if start is None or vn_day(start) > day:
        return False
    if certificate.status == "revoked" and certificate.revoked_at is not None:
        return vn_day(certificate.revoked_at) > day
    return True


def _known_by(raw: Raw, learner: Learner, day: date) -> bool:
    """Entered by that day, or entered later for a standard met by then."""
    met = [vn_day(c.attained_at) for c in raw.certificates[learner.id]]
    return min([vn_day(learner.created_at), *met]) <= day


def _in_unit(raw: Raw, learner: Learner, level: str, code: str) -> bool:
    if level == "national":
        return True
    if level == "province":
        return learner.province_code == code
    if level == "commune":
        return learner.commune_code == code
    return str(learner.village_id) == code


GROUP_OF = {
    "officials_trained": ("official", None, "officials"),
    "officials_trained_commune": ("official", "commune", None),
    "officials_trained_province": ("official", "province", None),
    "pupils_equipped": ("pupil", None, "pupils"),
    "workers_trained": ("worker", None, "workers"),
}


def indicators(raw: Raw, level: str, code: str, day: date) -> dict[str, tuple[int, int, str]]:
    """indicator -> (numerator, denominator, denominator source) at a unit on a day."""
    people = [x for x in raw.learners if _in_unit(raw, x, level, code) and _known_by(raw, x, day)]
    adults = [x for x in people if age_on(x.birth_date, day) >= 18]
    citizen = raw.standards["citizen"]

    def holds(learner: Learner, programs: set[str], delivered: bool = False) -> bool:
        return any(
            c.program_code in programs and _valid(c, day, delivered)
            for c in raw.certificates[learner.id]
        )

    baseline = _baseline(raw, level, code, day.year)
    result = {}
    adult_denominator = (
        (baseline["adults"], "baseline") if baseline else (len(adults), "registered")
    )
    result["adults_certified"] = (sum(holds(x, citizen) for x in adults), *adult_denominator)
    result["adults_vneid_confirmed"] = (
        sum(holds(x, citizen, delivered=True) for x in adults),
        *adult_denominator,
    )
    for indicator, (group, official_level, column) in GROUP_OF.items():
        members = [x for x in people if getattr(x, f"is_{group}")]
        if official_level:
            members = [x for x in members if x.official_level == official_level]
        trained = sum(holds(x, raw.standards[group]) for x in members)
        if baseline and column:
            result[indicator] = (trained, baseline[column], "baseline")
        else:
            result[indicator] = (trained, len(members), "registered")
    return result


def _baseline(raw: Raw, level: str, code: str, year: int) -> dict[str, int] | None:
    if level == "village":
        return None
    communes = [
        c
        for c, p in raw.communes.items()
        if level == "national" or (level == "province" and p == code) or c == code
    ]
    rows = [raw.baselines.get((c, year)) for c in communes]
    if not rows or any(r is None for r in rows):
        return None
    return {
        name: sum(getattr(r, name) for r in rows if r is not None)
        for name in ("adults", "officials", "pupils", "workers")
    }
