"""Seeding through the services, idempotently: running it twice changes nothing."""

from pathlib import Path

from sqlmodel import Session

from app.catalog.seed import load_catalogue
from app.core.config import Settings
from app.core.context import WriteContext, bind_context
from app.stats.planning import seed_targets
from app.units.service import load_official_units
from app.vneid_mock.seed import load_demo_citizens

SEED_DIR = Path(__file__).resolve().parent.parent / "seed"


def seed_all(
    session: Session, seed_dir: Path = SEED_DIR, *, settings: Settings | None = None
) -> dict[str, int]:
    """Administrative units, the catalogue and programs, national targets, demo citizens."""
    settings = settings or Settings()
    bind_context(session, WriteContext(settings.adult_age))
    provinces, communes = load_official_units(session)
    counts = {"provinces": provinces, "communes": communes}
    counts.update(load_catalogue(session, seed_dir))
    counts.update(seed_targets(session, seed_dir))
    counts["vneid_citizens"] = load_demo_citizens(session, seed_dir, settings)
    return counts
