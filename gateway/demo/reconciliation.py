"""After the deliveries, an operator reconciles the vendors with the ledger through the hub's API, as
the console does: ischinese and webtrn over the year, hnou over the month of the daily file the hub
did not fetch. Each discrepancy is resolved as an operator would: the records the ledger lacks, and
the one the vendor corrected, are ingested; a learner the hub cannot name is accepted with a reason;
the held version that the correction superseded is rejected. The hours arrive, and the certificate
reviews issue certificates to the people whom the recovery brought over the line.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

import httpx
from rich.console import Console
from rich.table import Table

from gateway.demo.api import TIMEOUT_SECONDS, answer, bearer, issue_token
from gateway.demo.cast import YEAR
from gateway.demo.handoffs import Arrival
from gateway.demo.stage import Stage
from ledger.model import PersonId
from sso.access.model import Role
from sso.certificates.model import CertificateStatus

__all__ = ["RESOLUTIONS", "Recovered", "RunFailed", "reconciliation_recovers"]

RESOLUTIONS: Final = {
    "missing_in_ledger": ("ingest", "the vendor lists the completion; it never reached the hub"),
    "different": ("ingest", "the vendor corrected the record, as its support desk confirmed"),
    "unknown_person": ("accept", "the learner never came through the hub; the vendor is asked to link the account"),
    "missing_at_vendor": ("accept", "kept until the vendor explains the record"),
}
"""Each kind of discrepancy, the operator's action and the reason given."""
SUPERSEDED: Final = "the vendor's corrected version was ingested by reconciliation"
POLL_SECONDS: Final = 0.2
POLLS_MAX: Final = 600
"""A run of the demo's size takes a few seconds; past two minutes the demo gives up."""
PAGE_SIZE: Final = 100
PAGES_MAX: Final = 20


class RunFailed(Exception):
    """A reconciliation run failed, or did not end in time."""


@dataclass(frozen=True, slots=True)
class Recovered:
    """A record that reconciliation brought into the ledger, and what it did to its person's year."""

    arrival: Arrival
    vendor: str
    record_id: str
    met_before: bool
    met_after: bool
    certificate: str | None


async def reconciliation_recovers(
    stage: Stage, arrivals: list[Arrival], hnou_day: date | None, console: Console
) -> list[Recovered]:
    """Reconcile, resolve every open discrepancy, and return the records recovered for the staff."""
    people = {PersonId(arrival.person_id): arrival for arrival in arrivals}
    operator = bearer(await issue_token(stage, Role.OPERATOR, name="演示：省平台运维"))
    scopes: list[dict[str, object]] = [{"vendor": "ischinese", "year": YEAR}, {"vendor": "webtrn", "year": YEAR}]
    if hnou_day is not None:
        first, last = _month_of(hnou_day)
        scopes.append({"vendor": "hnou", "from": first.isoformat(), "to": last.isoformat()})
    async with httpx.AsyncClient(base_url=stage.hub_url, timeout=TIMEOUT_SECONDS, headers=operator) as http:
        for scope in scopes:
            run = await _run(http, scope)
            console.print(f"  POST /api/v1/reconciliations {_scope_text(scope)} → run {run['id']}: {_counts(run)}")
        found = await _open_discrepancies(http)
        before = {person_id: await _meets(stage, person_id) for person_id in _ingested_people(found, people)}
        resolved = [await _resolve(http, item) for item in found]
        rejected = await _reject_superseded(http, found)
    console.print(_discrepancy_table(resolved, people))
    console.print(
        f"  {len(resolved)} discrepancies resolved through POST /api/v1/discrepancies/{{id}}/resolve; "
        f"{rejected} held version{'s' if rejected != 1 else ''} superseded by an ingest rejected in the quarantine"
    )
    await stage.hub.certificates.review_due()  # the worker has likely done it already; a review is idempotent
    recovered = [
        await _recovered(stage, people[PersonId(item["person_id"])], item, before)
        for item in resolved
        if item["kind"] == "missing_in_ledger" and item["person_id"] in people
    ]
    _show_recovered(recovered, console)
    return recovered


def _month_of(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    following = (first + timedelta(days=31)).replace(day=1)
    return first, following - timedelta(days=1)


def _scope_text(scope: dict[str, object]) -> str:
    if "year" in scope:
        return f"{scope['vendor']} {scope['year']}"
    return f"{scope['vendor']} {scope['from']} to {scope['to']}"


def _counts(run: dict[str, Any]) -> str:
    counts = run["counts"]
    found = ", ".join(f"{count} {kind}" for kind, count in counts.items() if kind != "compared" and count)
    return f"{run['status']}, {counts['compared']} records compared, {found or 'no discrepancy'}"


async def _run(http: httpx.AsyncClient, scope: dict[str, object]) -> dict[str, Any]:
    """Start a run and wait for its end, as the console's page of a run does. Raises ``RunFailed``."""
    started = await answer(await http.post("/api/v1/reconciliations", json=scope), 202)
    for _ in range(POLLS_MAX):
        run = await answer(await http.get(f"/api/v1/reconciliations/{started['id']}"), 200)
        if run["status"] == "succeeded":
            return run
        if run["status"] != "running":
            raise RunFailed(f"reconciliation {run['id']} of {_scope_text(scope)} {run['status']}: {run['failure']}")
        await asyncio.sleep(POLL_SECONDS)
    raise RunFailed(f"reconciliation {started['id']} still runs after {POLLS_MAX * POLL_SECONDS:.0f} s")


async def _open_discrepancies(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    query: dict[str, str | int] = {"status": "open", "limit": PAGE_SIZE}
    for _ in range(PAGES_MAX):
        page = await answer(await http.get("/api/v1/discrepancies", params=query), 200)
        found += page["items"]
        if page["next_cursor"] is None:
            break
        query["cursor"] = page["next_cursor"]
    return found


def _ingested_people(found: list[dict[str, Any]], people: dict[PersonId, Arrival]) -> set[PersonId]:
    return {
        PersonId(item["person_id"])
        for item in found
        if RESOLUTIONS[item["kind"]][0] == "ingest" and item["person_id"] in people
    }


async def _resolve(http: httpx.AsyncClient, item: dict[str, Any]) -> dict[str, Any]:
    action, reason = RESOLUTIONS[item["kind"]]
    body = {"action": action, "reason": reason}
    return await answer(await http.post(f"/api/v1/discrepancies/{item['id']}/resolve", json=body), 200)


async def _reject_superseded(http: httpx.AsyncClient, found: list[dict[str, Any]]) -> int:
    """Reject the held conflicting versions of the records whose vendor's version was just ingested."""
    corrected = {(item["vendor"], item["record_id"]) for item in found if item["kind"] == "different"}
    query = {"reason": "conflict", "status": "held", "limit": str(PAGE_SIZE)}
    held = await answer(await http.get("/api/v1/quarantine", params=query), 200)
    superseded = [item for item in held["items"] if (item["vendor"], item["record_id"]) in corrected]
    for item in superseded:
        await answer(await http.post(f"/api/v1/quarantine/{item['id']}/reject", json={"reason": SUPERSEDED}), 200)
    return len(superseded)


async def _meets(stage: Stage, person_id: PersonId) -> bool:
    return (await stage.hub.ledger.evaluate(person_id, YEAR)).met


async def _recovered(stage: Stage, arrival: Arrival, item: dict[str, Any], before: dict[PersonId, bool]) -> Recovered:
    person_id = PersonId(arrival.person_id)
    valid = [
        entry.certificate.number
        for entry in await stage.hub.certificates.history(person_id)
        if entry.certificate.facts.year == YEAR and entry.certificate.status is CertificateStatus.VALID
    ]
    return Recovered(
        arrival,
        item["vendor"],
        item["record_id"],
        met_before=before[person_id],
        met_after=await _meets(stage, person_id),
        certificate=valid[0] if valid else None,
    )


def _discrepancy_table(resolved: list[dict[str, Any]], people: dict[PersonId, Arrival]) -> Table:
    table = Table("vendor", "record", "kind", "differences", "person", "resolved by", "ledger entries")
    for item in resolved:
        arrival = people.get(PersonId(item["person_id"] or ""))
        resolution = item["resolution"]
        table.add_row(
            item["vendor"],
            item["record_id"],
            item["kind"],
            ", ".join(item["differences"]) or "—",
            "—" if arrival is None else arrival.member.name,
            resolution["action"],
            ", ".join(f"#{seq}" for seq in resolution["entry_seqs"]) or "—",
        )
    return table


def _show_recovered(recovered: list[Recovered], console: Console) -> None:
    table = Table("person", "institution", "record", f"meets {YEAR} before", "after", "certificate")
    for item in recovered:
        table.add_row(
            item.arrival.member.name,
            item.arrival.member.institution.name,
            f"{item.vendor} {item.record_id}",
            _yes(item.met_before),
            _yes(item.met_after),
            item.certificate or "—",
        )
    console.print(table)
    over_the_line = sum(1 for item in recovered if item.met_after and not item.met_before)
    console.print(
        f"  {over_the_line} of {len(recovered)} people meet {YEAR} only thanks to a recovered record, "
        "and the certificate review issued their certificates"
    )


def _yes(value: bool) -> str:
    return "[green]yes[/green]" if value else "[red]no[/red]"
