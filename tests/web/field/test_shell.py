"""The field app's shell over HTTP: what the service worker caches, with the pages' headers."""

from fastapi.testclient import TestClient

from app.web.field.router import SHELL


def test_every_shell_file_is_served_and_the_page_carries_the_pages_headers(
    client: TestClient,
) -> None:
    for path in SHELL:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["x-content-type-options"] == "nosniff"
    page = client.get("/field/")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["referrer-policy"] == "same-origin"


def test_the_service_worker_lists_the_shell_under_its_version(client: TestClient) -> None:
    response = client.get("/field/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "__VERSION__" not in response.text and "__SHELL__" not in response.text
    assert '"/static/vendor/idb-8.0.4/index.js"' in response.text


def test_a_file_outside_the_shell_is_not_found(client: TestClient) -> None:
    # Only the listed files are served: nothing else of the package's folder.
    assert client.get("/field/static/router.py").status_code == 404
    assert client.get("/field/static/sw.js").status_code == 404
