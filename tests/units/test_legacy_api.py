"""The old map (before 1 July 2025) as reference data: look-up, search, and the pointers to it."""

from fastapi.testclient import TestClient
from vietnam_provinces._ward_conversion_2025 import OLD_TO_NEW

from app.units import legacy
from tests.factories import HN_HOAN_KIEM, Staff, learner_payload

LOOKUP = "/api/v1/legacy/communes"


def test_an_old_commune_that_went_whole_names_its_new_commune(
    client: TestClient, staff: Staff
) -> None:
    answer = client.get(f"{LOOKUP}/00043", headers=staff["tq_member"])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "code": "00043",
        "name": "Phường Hàng Mã",
        "division_type": "phường",
        "district": {"code": "002", "name": "Quận Hoàn Kiếm"},
        "province": {"code": "01", "name": "Thành phố Hà Nội"},
        "went": "whole",
        "new_communes": [
            {
                "code": "00070",
                "name": "Phường Hoàn Kiếm",
                "division_type": "phường",
                "province_code": "01",
                "province_name": "Thành phố Hà Nội",
            }
        ],
    }


def test_an_old_code_reused_by_the_new_map_is_the_old_commune_here(
    client: TestClient, staff: Staff
) -> None:
    # Old 00070 was Phường Hàng Trống, split between Hoàn Kiếm and Cửa Nam; new 00070 is
    # Phường Hoàn Kiếm.
    old = client.get(f"{LOOKUP}/00070", headers=staff["hk_member"]).json()
    assert old["name"] == "Phường Hàng Trống"
    assert old["went"] == "split"
    assert [(c["code"], c["name"]) for c in old["new_communes"]] == [
        ("00070", "Phường Hoàn Kiếm"),
        ("00082", "Phường Cửa Nam"),
    ]
    new = client.get("/api/v1/communes/00070", headers=staff["hk_member"]).json()
    assert new["name"] == "Phường Hoàn Kiếm"


def test_mistyped_codes_of_the_conversion_table_are_corrected(
    client: TestClient, staff: Staff
) -> None:
    # The table names Phường 15 of Phú Nhuận 27076, a code no old commune had.
    fifteen = client.get(f"{LOOKUP}/27067", headers=staff["national"]).json()
    assert (fifteen["name"], fifteen["district"]["name"]) == ("Phường 15", "Quận Phú Nhuận")
    assert fifteen["went"] == "split"
    assert [c["name"] for c in fifteen["new_communes"]] == ["Phường Cầu Kiệu", "Phường Phú Nhuận"]
    assert client.get(f"{LOOKUP}/27076", headers=staff["national"]).status_code == 404
    # Each corrected code is an old commune of the same district, matched to nothing else.
    for table_code, old_code in legacy.CODE_CORRECTIONS.items():
        assert legacy.get(f"{table_code:05d}") is None
        unit = legacy.get(f"{old_code:05d}")
        assert unit is not None and unit.went is not legacy.Went.UNMAPPED
        assert int(unit.district_code) == OLD_TO_NEW[table_code].old_ward.district_code


def test_the_old_district_gives_the_old_province(client: TestClient, staff: Staff) -> None:
    # The table puts Phường 4 of Tân An (Long An, 80) under province 82 (Tiền Giang).
    ward = client.get(f"{LOOKUP}/27691", headers=staff["national"]).json()
    assert ward["district"]["name"] == "Thành phố Tân An"
    assert ward["province"] == {"code": "80", "name": "Tỉnh Long An"}
    assert [c["name"] for c in ward["new_communes"]] == ["Phường Long An"]


def test_old_communes_the_table_leaves_out_say_so(client: TestClient, staff: Staff) -> None:
    unmapped = {u.code for u in legacy.all_communes() if u.went is legacy.Went.UNMAPPED}
    assert unmapped == legacy.UNMAPPED_OLD_CODES
    answer = client.get(f"{LOOKUP}/03988", headers=staff["national"]).json()
    assert (answer["name"], answer["went"], answer["new_communes"]) == (
        "Xã Tân Hợp",
        "unmapped",
        [],
    )


def test_an_unknown_old_code_answers_404_in_either_language(
    client: TestClient, staff: Staff
) -> None:
    answer = client.get(f"{LOOKUP}/99999", headers=staff["hk_member"])
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "cũ" in answer.json()["detail"]
    english = client.get(f"{LOOKUP}/99999", headers={**staff["hk_member"], "Accept-Language": "en"})
    assert "old" in english.json()["detail"]
    assert client.get(f"{LOOKUP}/99999").status_code == 401


def test_search_by_old_name_without_diacritics(client: TestClient, staff: Staff) -> None:
    found = client.get(LOOKUP, params={"q": "hang trong"}, headers=staff["hk_member"])
    assert found.status_code == 200
    assert set(found.json()) == {"items", "next_cursor"}
    assert [c["code"] for c in found.json()["items"]] == ["00070"]
    # Names repeat from district to district: the district's name narrows them.
    fifteen = client.get(
        LOOKUP, params={"q": "phuong 15 phu nhuan"}, headers=staff["hk_member"]
    ).json()
    assert [(c["code"], c["district"]["name"]) for c in fifteen["items"]] == [
        ("27067", "Quận Phú Nhuận")
    ]


def test_search_pages_like_every_list(client: TestClient, staff: Staff) -> None:
    codes: list[str] = []
    cursor = None
    for _ in range(20):  # bounded: the old Hoàn Kiếm district had 18 wards, 5 a page
        params: dict[str, str | int] = {"q": "hoan kiem", "limit": 5}
        params |= {"cursor": cursor} if cursor else {}
        page = client.get(LOOKUP, params=params, headers=staff["national"]).json()
        codes += [c["code"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(codes) == len(set(codes)) == 18
    assert {"00043", "00070", "00073"} <= set(codes)


def test_a_code_of_the_old_map_only_points_to_the_look_up(client: TestClient, staff: Staff) -> None:
    # 00001 was Phường Phúc Xá; no commune of the new map has that number.
    answer = client.get("/api/v1/communes/00001", headers=staff["national"])
    assert answer.status_code == 404
    assert answer.json()["legacy_commune"] == f"{LOOKUP}/00001"
    assert (
        "legacy_commune"
        not in client.get("/api/v1/communes/99999", headers=staff["national"]).json()
    )
    body = learner_payload("00001")
    refused = client.post("/api/v1/learners", json=body, headers=staff["hk_admin"])
    assert refused.status_code == 422
    assert refused.json()["legacy_commune"] == f"{LOOKUP}/00001"
    assert "00001" in refused.json()["errors"][0]["msg"]
    assert client.get(f"/api/v1/communes/{HN_HOAN_KIEM}", headers=staff["national"]).is_success
