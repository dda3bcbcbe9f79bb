"""The OpenAPI document declares the problems each operation answers, and bodies the service
cannot parse answer what it declares (413/422 problem+json), not an undeclared 400."""

from fastapi.testclient import TestClient

from tests.factories import Staff

PROBLEM = "application/problem+json"


def test_every_error_is_declared_as_problem_json(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status"]
    operations = {
        f"{method.upper()} {path}": operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    for name, operation in operations.items():
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert list(response["content"]) == [PROBLEM], (name, status)
        if operation.get("security"):
            assert {"401", "403", "404", "503"} <= set(operation["responses"]), name

    def declared(name: str) -> set[str]:
        return {s for s in operations[name]["responses"] if s >= "400"}

    assert declared("POST /api/v1/imports") == {"401", "403", "404", "409", "413", "422", "503"}
    assert declared("POST /api/v1/auth/token") == {"401", "413", "422", "429", "503"}
    assert declared("GET /api/v1/teams/{team_id}") == {"401", "403", "404", "422", "503"}
    assert declared("GET /.well-known/jwks.json") == set()
    assert (
        "text/csv"
        in operations["GET /api/v1/stats/national/export.{fmt}"]["responses"]["200"]["content"]
    )


def test_json_that_is_not_utf8_answers_422(client: TestClient, staff: Staff) -> None:
    response = client.post(
        "/api/v1/learners",
        content='{"full_name": "Nguyên"}'.encode("latin-1"),  # not UTF-8
        headers={**staff["hk_admin"], "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)


def test_a_broken_multipart_body_answers_422(client: TestClient, staff: Staff) -> None:
    response = client.post(
        "/api/v1/imports",
        content=b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n",
        headers={
            **staff["hk_admin"],
            "Content-Type": "multipart/form-data; boundary=b",
            "Accept-Language": "en",
        },
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "cannot be read" in response.json()["detail"]


def test_a_form_field_over_its_size_limit_answers_413(client: TestClient, staff: Staff) -> None:
    response = client.post(
        "/api/v1/imports",
        data={"kind": "learners", "commune_code": "0" * (1024 * 1024 + 10)},
        files={"file": ("a.csv", b"a,b\r\n")},
        headers=staff["hk_admin"],
    )
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
