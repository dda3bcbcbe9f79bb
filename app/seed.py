"""Seeding through the services, idempotently: running it twice changes nothing."""

from pathlib import Path

from sqlmodel import Session

from app.catalog.seed import load_catalogue
from app.stats.planning import seed_targets
from app.units.service import load_official_units

SEED_DIR = Path(__file__).resolve().parent.parent / "seed"


def seed_all(session: Session, seed_dir: Path = SEED_DIR) -> dict[str, int]:
    """Administrative units, the course catalogue and programs, national targets."""
    provinces, communes = load_official_units(session)
    counts = {"provinces": provinces, "communes": communes}
    counts.update(load_catalogue(session, seed_dir))
    counts.update(seed_targets(session, seed_dir))
    return counts
