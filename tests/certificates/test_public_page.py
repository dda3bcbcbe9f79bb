"""The public page a QR code opens answers HTML, even for an id that names nothing."""

import uuid

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize("bad_id", ["khong-phai-ma", str(uuid.UUID(int=7)), "1" * 40])
def test_a_bad_or_unknown_id_answers_an_html_not_found_page(
    client: TestClient, bad_id: str
) -> None:
    page = client.get(f"/certificates/{bad_id}")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Không tìm thấy chứng nhận" in page.text and "Certificate not found" in page.text
    # The API keeps answering problem+json.
    api = client.get(f"/api/v1/certificates/{uuid.UUID(int=7)}/verify")
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")
