"""Demo citizens for the mock VNeID registry, from `seed/vneid_citizens.toml`."""

import tomllib
from datetime import date
from pathlib import Path

from sqlmodel import Session

from app.core.config import Settings
from app.vneid_mock.service import CitizenIndex, add_citizen, find_citizen


def load_demo_citizens(session: Session, seed_dir: Path, settings: Settings) -> int:
    """Add the demo citizens that are missing; answers how many were added."""
    path = seed_dir / "vneid_citizens.toml"
    if not path.exists():
        return 0
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    index = CitizenIndex(settings)
    added = 0
    for entry in data.get("citizen", []):
        if find_citizen(session, index=index, citizen_id=entry["citizen_id"]) is not None:
            continue
        add_citizen(
            session,
            index=index,
            citizen_id=entry["citizen_id"],
            full_name=entry["full_name"],
            birth_date=date.fromisoformat(entry["birth_date"]),
            passcode=str(entry.get("passcode", data["passcode"])),
        )
        added += 1
    return added
