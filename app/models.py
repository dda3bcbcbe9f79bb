"""Imports every model, so the metadata knows all tables (for Alembic and tests)."""

from app.accounts import models as accounts_models
from app.audit import models as audit_models
from app.catalog import models as catalog_models
from app.certificates import models as certificates_models
from app.imports import models as imports_models
from app.learners import models as learners_models
from app.ledger import models as ledger_models
from app.stats import models as stats_models
from app.sync import models as sync_models
from app.training import models as training_models
from app.units import models as units_models
from app.vneid import models as vneid_models
from app.vneid_mock import models as vneid_mock_models

__all__ = [
    "accounts_models",
    "audit_models",
    "catalog_models",
    "certificates_models",
    "imports_models",
    "learners_models",
    "ledger_models",
    "stats_models",
    "sync_models",
    "training_models",
    "units_models",
    "vneid_mock_models",
    "vneid_models",
]
