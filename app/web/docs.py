"""`/docs` and `/redoc` from self-hosted Swagger UI and ReDoc: they work with no internet."""

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.web.templating import render

router = APIRouter(include_in_schema=False)

# ReDoc writes its styles into <style> elements, embeds fonts as data: URLs and runs its search
# (FlexSearch) in a worker made from a blob, which it builds from a function's source text: its
# page allows exactly that, and keeps every other rule of the pages' policy. The page shows only
# the public API description and takes no input into what it evaluates.
REDOC_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; img-src 'self' data:; "
    "font-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


@router.get("/docs")
def swagger_ui(request: Request) -> Response:
    """Swagger UI over the service's OpenAPI description."""
    context = {"title": request.app.title, "openapi_url": request.app.openapi_url}
    return render(request, "docs/swagger.html", context, headers={"Cache-Control": "no-cache"})


@router.get("/redoc")
def redoc(request: Request) -> Response:
    """ReDoc over the service's OpenAPI description."""
    context = {"title": request.app.title, "openapi_url": request.app.openapi_url}
    headers = {"Cache-Control": "no-cache", "Content-Security-Policy": REDOC_POLICY}
    return render(request, "docs/redoc.html", context, headers=headers)
