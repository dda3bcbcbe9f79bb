"""Every page route: the foundation's, then each area's router (appended here)."""

from fastapi import APIRouter, Depends

from app.web import auth, dashboards, docs, work
from app.web.csrf import require_csrf
from app.web.field.router import router as field_router
from app.web.learner import router as learner

# Every page route that changes something checks the CSRF token: no route can forget it.
router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])
router.include_router(auth.router)
router.include_router(docs.router)
router.include_router(dashboards.router)
router.include_router(work.router)
router.include_router(learner.router)
router.include_router(field_router)
