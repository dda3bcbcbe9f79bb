"""Property-based fuzzing of every operation the OpenAPI document declares.

Schemathesis generates requests from the document itself (valid and invalid values, edge
numbers, any Unicode text), signed in as a national admin, and each answer must be no 5xx,
have a status and a media type the operation declares, and match the declared schema.
"""

import os
from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.transport.requests import REQUESTS_TRANSPORT

from tests.factories import Staff

# Examples per operation: enough to reach the edges (Hypothesis tries them first), few enough
# for the suite to stay quick on both databases.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
# The same examples on every run, so a failure in CI is the change's; FUZZ_RANDOM=1 explores.
DERANDOMIZE = os.environ.get("FUZZ_RANDOM") != "1"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
BASE = "http://testserver"


def send_through(client: TestClient, headers: dict[str, str]) -> Callable[[Any], Any]:
    """Send a generated case through the test's own client (the app already started)."""

    def send(case: Any) -> Any:
        kwargs = REQUESTS_TRANSPORT.serialize_case(case, base_url=BASE, headers=headers)
        prepared = requests.Request(
            method=kwargs["method"],
            url=kwargs["url"],
            headers=kwargs.get("headers"),
            params=kwargs.get("params"),
            cookies=kwargs.get("cookies"),
            json=kwargs.get("json"),
            data=kwargs.get("data"),
            files=kwargs.get("files"),
        ).prepare()
        body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
        return client.request(
            str(prepared.method),
            str(prepared.url),
            headers=dict(prepared.headers),
            content=body,
        )

    return send


@pytest.mark.long
def test_no_operation_answers_5xx_or_breaks_its_schema(client: TestClient, staff: Staff) -> None:
    schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
    headers = staff["national"]
    send = send_through(client, headers)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50

    for operation in operations:

        @given(
            case=st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE),
                operation.as_strategy(GenerationMode.NEGATIVE),
            )
        )
        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=DERANDOMIZE,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            response = send(case)
            case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # every operation is tried, then reported
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
