from fastapi.testclient import TestClient

from tests.factories import HN_HOAN_KIEM, TQ_COMMUNE, Staff


def test_lists_the_34_provinces_with_zero_padded_codes(client: TestClient, staff: Staff) -> None:
    response = client.get("/api/v1/provinces", headers=staff["hk_member"])
    assert response.status_code == 200
    assert response.json()["next_cursor"] is None
    provinces = response.json()["items"]
    assert len(provinces) == 34
    hanoi = next(p for p in provinces if p["code"] == "01")
    assert hanoi["name"] == "Thành phố Hà Nội"
    assert {"code", "name", "division_type"} <= set(hanoi)


def test_province_communes_cover_all_3321_communes(client: TestClient, staff: Staff) -> None:
    provinces = client.get("/api/v1/provinces", headers=staff["national"]).json()["items"]
    total = 0
    for province in provinces:
        page = client.get(
            f"/api/v1/provinces/{province['code']}/communes", headers=staff["national"]
        ).json()
        assert page["next_cursor"] is None
        assert all(c["province_code"] == province["code"] for c in page["items"])
        total += len(page["items"])
    assert total == 3321


def test_commune_search_ignores_accents_and_d(client: TestClient, staff: Staff) -> None:
    found = client.get("/api/v1/communes", params={"q": "ha giang"}, headers=staff["hk_member"])
    assert found.status_code == 200
    names = [c["name"] for c in found.json()["items"]]
    assert "Phường Hà Giang 1" in names
    assert all("Giang" in n for n in names)
    by_d = client.get("/api/v1/communes", params={"q": "dong da"}, headers=staff["hk_member"])
    assert "Phường Đống Đa" in [c["name"] for c in by_d.json()["items"]]


def test_provinces_page_like_every_list(client: TestClient, staff: Staff) -> None:
    codes: list[str] = []
    cursor = None
    for _ in range(10):  # bounded: 34 provinces, 10 a page
        params: dict[str, str | int] = {"limit": 10} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/provinces", params=params, headers=staff["national"]).json()
        assert set(page) == {"items", "next_cursor"}
        codes += [p["code"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(codes) == 34 and codes == sorted(set(codes))


def _search(client: TestClient, staff: Staff, q: str, **params: object) -> list[str]:
    found = client.get("/api/v1/communes", params={"q": q, **params}, headers=staff["hk_member"])
    assert found.status_code == 200, found.text
    return [c["name"] for c in found.json()["items"]]


def test_commune_search_ranks_whole_words_and_prefixes_first(
    client: TestClient, staff: Staff
) -> None:
    # By code alone, Xã Nậm Hàng (03434) would come first.
    ha_nam = _search(client, staff, "ha nam")
    assert ha_nam[:2] == ["Xã Hà Nam", "Phường Hà Nam"]
    assert ha_nam.index("Xã Nậm Hàng") > 1
    assert _search(client, staff, "phu ly")[0] == "Phường Phủ Lý"
    assert _search(client, staff, "Hà Nam")[:2] == ["Xã Hà Nam", "Phường Hà Nam"]
    # A name starting with the words comes before one merely containing word beginnings.
    dong = _search(client, staff, "dong da")
    assert dong[0] == "Phường Đống Đa"
    # Ranked pages still cover every match once.
    everything = _search(client, staff, "nam", limit=500)
    seen: list[str] = []
    cursor = None
    for _ in range(50):
        params = {"q": "nam", "limit": 40} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/communes", params=params, headers=staff["hk_member"]).json()
        seen += [c["name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything and len(seen) > 40


def test_commune_search_pages_with_opaque_cursor(client: TestClient, staff: Staff) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"q": "phuong", "province_code": "01", "limit": 20}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/communes", params=params, headers=staff["national"]).json()
        seen += [c["code"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) > 20
    bad = client.get(
        "/api/v1/communes", params={"cursor": "not-a-cursor"}, headers=staff["national"]
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


def test_unknown_commune_and_malformed_code(client: TestClient, staff: Staff) -> None:
    missing = client.get("/api/v1/communes/99999", headers=staff["national"])
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("not-found")
    malformed = client.get("/api/v1/communes/70", headers=staff["national"])
    assert malformed.status_code == 422


def test_commune_admin_creates_village_in_own_commune_only(
    client: TestClient, staff: Staff
) -> None:
    created = client.post(
        f"/api/v1/communes/{HN_HOAN_KIEM}/villages",
        json={"name": "  Tổ dân phố   số 1 ", "kind": "to_dan_pho"},
        headers=staff["hk_admin"],
    )
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Tổ dân phố số 1"
    detail = client.get(f"/api/v1/communes/{HN_HOAN_KIEM}", headers=staff["hk_member"]).json()
    assert [v["name"] for v in detail["villages"]] == ["Tổ dân phố số 1"]

    again = client.post(
        f"/api/v1/communes/{HN_HOAN_KIEM}/villages",
        json={"name": "to dan pho so 1"},
        headers=staff["hk_admin"],
    )
    assert again.status_code == 409

    foreign = client.post(
        f"/api/v1/communes/{TQ_COMMUNE}/villages",
        json={"name": "Thôn A"},
        headers=staff["hk_admin"],
    )
    assert foreign.status_code == 404
    by_member = client.post(
        f"/api/v1/communes/{HN_HOAN_KIEM}/villages",
        json={"name": "Thôn B"},
        headers=staff["hk_member"],
    )
    assert by_member.status_code == 403
    outsider_view = client.get(f"/api/v1/communes/{HN_HOAN_KIEM}", headers=staff["tq_member"])
    assert outsider_view.status_code == 200
    assert outsider_view.json()["villages"] == []


def test_units_need_a_token(client: TestClient) -> None:
    response = client.get("/api/v1/provinces")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
