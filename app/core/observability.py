"""Request metrics and one JSON log line per request; JSON logging for the whole process.

Every log record carries the request id (and, once known, the route and the user id); any run
of 12 digits in a message is masked, so a personal ID number never reaches the logs.
"""

import logging
import re
import sys
import time
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.context import request_id_var

access_logger = logging.getLogger("app.access")

_TWELVE_DIGITS = re.compile(r"(?<!\d)\d{12}(?!\d)")
_MASK = "************"
# Marks the handler installed here, so configuring again replaces it instead of doubling it.
_HANDLER_NAME = "hocvuso-json"
# Routes the service does not know share one label, so random paths cannot grow the series.
UNMATCHED = "unmatched"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class RequestContextFilter(logging.Filter):
    """Adds the request id to every record and masks anything shaped like an ID number."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed call; the handler reports it as logging always has
        if _TWELVE_DIGITS.search(message):
            record.msg = _TWELVE_DIGITS.sub(_MASK, message)
            record.args = None
        for key, value in list(vars(record).items()):
            if (
                isinstance(value, str)
                and key not in ("msg", "message")
                and _TWELVE_DIGITS.search(value)
            ):
                setattr(record, key, _TWELVE_DIGITS.sub(_MASK, value))
        return True


def configure_logging(level: str) -> None:
    """Write every log record (uvicorn's too) to stderr as one JSON object a line."""
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    )
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == _HANDLER_NAME:
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn's loggers go through the same handler; its access log would repeat ours.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request it sends at INFO; the outcomes that matter are logged here.
    logging.getLogger("httpx").setLevel(logging.WARNING)


@dataclass
class RequestMetrics:
    """The HTTP metrics of one app, on its own registry."""

    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    login_refusals: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> "RequestMetrics":
        return cls(
            registry=registry,
            requests=Counter(
                "hocvuso_http_requests",
                "HTTP requests answered, by method, route template and status",
                ["method", "route", "status"],
                registry=registry,
            ),
            latency=Histogram(
                "hocvuso_http_request_duration_seconds",
                "Time to answer an HTTP request, by method and route template",
                ["method", "route"],
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
            login_refusals=Counter(
                "hocvuso_login_refusals",
                "Sign-ins refused, by who signs in (staff, learner) and status (401, 429)",
                ["kind", "status"],
                registry=registry,
            ),
        )


def route_template(scope: Scope) -> str:
    """The matched route's template (`/api/v1/learners/{learner_id}`), never the ids in a path.

    Built from the path and its parameters, which every router (a mounted app's too) fills
    in, so it reads the same whichever router matched.
    """
    if scope.get("route") is None:
        return UNMATCHED
    names = {str(value): name for name, value in (scope.get("path_params") or {}).items()}
    segments = str(scope.get("path", "")).split("/")
    return "/".join("{" + names[part] + "}" if part in names else part for part in segments)


def _user_id(scope: Scope) -> Any:
    state = scope.get("state") or {}
    actor = state.get("actor")
    if actor is not None:
        return getattr(actor, "user_id", None)
    return state.get("learner_id")


class ObservabilityMiddleware:
    """Counts and times each request by route template, and logs it as one line."""

    def __init__(
        self, app: ASGIApp, *, metrics: RequestMetrics, sign_in_routes: dict[str, str]
    ) -> None:
        self.app = app
        self.metrics = metrics
        # Sign-in route templates and who signs in there, to count refusals.
        self.sign_in_routes = sign_in_routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            kind = self.sign_in_routes.get(route)
            if kind is not None and status in (401, 403, 429):
                self.metrics.login_refusals.labels(kind, str(status)).inc()
            access_logger.info(
                "request",
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "user_id": _user_id(scope),
                },
            )
