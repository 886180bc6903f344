"""The vendors' shares of online hours through a real aiohttp test server on SQLite and PostgreSQL: three
institutions of Liuyang on either side of the 20-staff and 90 % lines, checked against hand-computed hours
and shares, a page at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from sso.access.model import AuditAction, Role

from .access_support import Client, ClientMaker, audit_entries, bearer, new_token, serve_hub
from .supervision_support import credit, enrol, record, reversal

HOSPITAL, SCHOOL, FARM = "430181-0001", "430181-0002", "430181-0003"


Share = tuple[str, str | None]


def _vendors(ischinese: Share, webtrn: Share, hnou: Share) -> list[dict[str, str | None]]:
    return [
        {"vendor": vendor, "hours": hours, "share": share}
        for vendor, (hours, share) in (("ischinese", ischinese), ("webtrn", webtrn), ("hnou", hnou))
    ]


@pytest.fixture
async def client(aiohttp_client: ClientMaker, settings_file: Path, database_url: str) -> Client:
    client = await serve_hub(aiohttp_client, settings_file, database_url)
    sequence = iter(range(1, 100))
    commands = []
    # The school: 20 staff, ischinese 180.01 of 200.00 hours (90.005 %): flagged.
    for number in range(18):
        person = await enrol(client, next(sequence), SCHOOL)
        commands.append(credit(person, f"s-{number}", "ischinese:IS-1", "professional", "10"))
    person = await enrol(client, next(sequence), SCHOOL)
    commands += [
        credit(person, "s-18a", "ischinese:IS-2", "public", "0.01"),
        credit(person, "s-18b", "webtrn:WT-1", "public", "9.99"),
    ]
    person = await enrol(client, next(sequence), SCHOOL)
    commands.append(credit(person, "s-19", "webtrn:WT-2", "professional", "10"))
    # The farm centre: 20 staff, ischinese exactly 90 %: not flagged.
    for number in range(20):
        person = await enrol(client, next(sequence), FARM)
        course = "ischinese:IS-1" if number < 18 else "hnou:HN-1"
        commands.append(credit(person, f"f-{number}", course, "professional", "10"))
    # The hospital: everything at ischinese, but only 19 staff earned online hours. One more has offline
    # hours only, and one an online course that was revoked.
    for number in range(19):
        person = await enrol(client, next(sequence), HOSPITAL)
        commands.append(credit(person, f"h-{number}", "ischinese:IS-1", "professional", "10"))
    offline, revoked = await enrol(client, next(sequence), HOSPITAL), await enrol(client, next(sequence), HOSPITAL)
    commands += [
        credit(offline, "h-off", "offline:OFF-1", "professional", "50"),
        credit(revoked, "h-rev", "ischinese:IS-3", "public", "5"),
        reversal("h-rev", "ischinese"),
    ]
    await record(client, *commands)
    return client


async def test_each_vendors_share_of_each_institution_with_the_flag_on_both_sides_of_its_lines(client: Client) -> None:
    supervisor = bearer(await new_token(client, Role.SUPERVISOR, department="430181-personnel"))

    first = await client.get("/api/v1/units/430181/vendor-share?year=2021&limit=2", headers=supervisor)
    page = await first.json()
    second = await client.get(
        f"/api/v1/units/430181/vendor-share?year=2021&limit=2&cursor={page['next_cursor']}", headers=supervisor
    )
    last = await second.json()

    assert (first.status, second.status, last["next_cursor"]) == (200, 200, None)
    assert page["unit"] == {"code": "430181", "name": "浏阳市", "kind": "region"}
    assert page["rule"] == {"staff_min": 20, "share_over": "0.9000"}
    items = {item.pop("code"): item for item in page["items"] + last["items"]}
    assert list(items) == [HOSPITAL, SCHOOL, FARM]
    assert items[HOSPITAL] == {
        "name": "浏阳市人民医院",
        "region": "430181",
        "staff_with_online_hours": 19,
        "online_hours": "190.00",
        "vendors": _vendors(("190.00", "1.0000"), ("0.00", "0.0000"), ("0.00", "0.0000")),
        "dominant_vendor": "ischinese",
        "flagged": False,
    }
    assert items[SCHOOL] == {
        "name": "浏阳市第一中学",
        "region": "430181",
        "staff_with_online_hours": 20,
        "online_hours": "200.00",
        "vendors": _vendors(("180.01", "0.9001"), ("19.99", "0.1000"), ("0.00", "0.0000")),
        "dominant_vendor": "ischinese",
        "flagged": True,
    }
    assert items[FARM] == {
        "name": "浏阳市农业技术推广中心",
        "region": "430181",
        "staff_with_online_hours": 20,
        "online_hours": "200.00",
        "vendors": _vendors(("180.00", "0.9000"), ("0.00", "0.0000"), ("20.00", "0.1000")),
        "dominant_vendor": None,
        "flagged": False,
    }
    reads = [entry for entry in await audit_entries(client) if entry.action is AuditAction.VENDOR_SHARE_READ]
    assert [(entry.details["year"], entry.details["flagged"]) for entry in reads] == [(2021, 1), (2021, 0)]


async def test_an_institution_without_online_hours_has_no_shares_and_others_are_out_of_reach(client: Client) -> None:
    school = bearer(await new_token(client, Role.SUPERVISOR, institution=SCHOOL))
    health = bearer(await new_token(client, Role.SUPERVISOR, department="430181-health"))

    own = await client.get(f"/api/v1/units/{SCHOOL}/vendor-share?year=2021", headers=school)
    neighbour = await client.get(f"/api/v1/units/{FARM}/vendor-share?year=2021", headers=school)
    governed = await client.get("/api/v1/units/430100/vendor-share?year=2021", headers=health)

    assert [item["code"] for item in (await own.json())["items"]] == [SCHOOL]
    assert neighbour.status == 404
    assert governed.status == 404  # Changsha is above the health bureau of Liuyang
    province = bearer(await new_token(client, Role.SUPERVISOR, department="430000-personnel"))
    zhuzhou = await (await client.get("/api/v1/units/430200-0001/vendor-share?year=2021", headers=province)).json()
    assert zhuzhou["items"][0]["vendors"] == _vendors(("0.00", None), ("0.00", None), ("0.00", None))
    assert (zhuzhou["items"][0]["staff_with_online_hours"], zhuzhou["items"][0]["flagged"]) == (0, False)
