"""Static files: versioned ones are kept for a year, the rest are checked each time."""

import os

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

LONG_CACHE = "public, max-age=31536000, immutable"


class Assets(StaticFiles):
    """`vendor/<lib>-<version>/` files and our own files addressed with `?v=<hash>` never
    change at their address (see `static_url`), so browsers keep them."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        path = scope["path"]
        versioned = "/vendor/" in path or b"v=" in scope.get("query_string", b"")
        response.headers["Cache-Control"] = LONG_CACHE if versioned else "no-cache"
        return response
