"""What the demo shows at the end: each person's 2021 against the rules, the hours each source
brought, the ledger verified, the records held for an operator, and where to try it all."""

from __future__ import annotations

import json
import sys
from collections import Counter
from contextlib import suppress
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.table import Table

from gateway.demo.api import issue_token
from gateway.demo.cast import PASSWORD, YEAR
from gateway.demo.handoffs import Arrival
from gateway.demo.stage import Stage
from ledger.model import EntryKind, Evaluation, PersonId, format_hours
from sso.access.model import Role
from sso.id_numbers import mask_id_number
from sso.organisation import DepartmentCode

__all__ = [
    "show_balances",
    "show_certificates",
    "show_held_records",
    "show_hours_by_vendor",
    "show_verification",
    "show_ways_in",
]

VENDOR_MARKS: Final = {"ischinese": "思", "webtrn": "网", "hnou": "开"}
SAMPLE_SIZE: Final = 8
"""People shown by name in a sample table."""
CONSOLE_SIGN_IN_PATH: Final = "/console/login"
SUPERVISED_DEPARTMENT: Final = DepartmentCode("430100-personnel")
"""长沙市人力资源和社会保障局: it oversees the demo's institutions in 长沙市 and 浏阳市."""


def _missing(evaluation: Evaluation) -> str:
    hours = [
        f"{format_hours(missing)} h {what}"
        for missing, what in (
            (evaluation.missing_total, "in all"),
            (evaluation.missing_public, "public"),
            (evaluation.missing_professional, "professional"),
        )
        if missing
    ]
    parts = [", ".join(hours)] if hours else []
    if evaluation.missing_topics:
        parts.append(f"needs {', '.join(evaluation.missing_topics)}")
    return "; ".join(parts) or "—"


async def show_balances(stage: Stage, arrivals: list[Arrival], console: Console) -> list[tuple[Arrival, bool]]:
    """Everyone's year by institution, what the short ones miss, and a sample of people; returns who meets it."""
    evaluations = [(arrival, await stage.hub.ledger.evaluate(arrival.person_id, YEAR)) for arrival in arrivals]
    console.print(_institutions_table(evaluations))
    short = [evaluation for _arrival, evaluation in evaluations if not evaluation.met]
    console.print(
        f"  of the {len(short)} short: {sum(1 for e in short if e.missing_total)} lack hours in all, "
        f"{sum(1 for e in short if e.missing_public)} public hours, "
        f"{sum(1 for e in short if e.missing_professional)} professional hours, "
        f"{sum(1 for e in short if e.missing_topics)} a mandatory topic"
    )
    console.print(_sample_table(evaluations))
    console.print("  at: 思 ischinese (思想天下), 网 webtrn (网梯), 开 hnou (湖南开放大学)")
    met = [(arrival, evaluation.met) for arrival, evaluation in evaluations]
    console.print(f"  {sum(1 for _arrival, yes in met if yes)} of {len(met)} people meet {YEAR}")
    return met


def _institutions_table(evaluations: list[tuple[Arrival, Evaluation]]) -> Table:
    table = Table("institution", "staff", "meet", "short", "hours counted", "per person")
    by_institution: dict[str, list[Evaluation]] = {}
    for arrival, evaluation in evaluations:
        by_institution.setdefault(arrival.member.institution.name, []).append(evaluation)
    for name, own in by_institution.items():
        hours = sum(evaluation.earned.total for evaluation in own)
        met = sum(1 for evaluation in own if evaluation.met)
        table.add_row(
            name, str(len(own)), str(met), str(len(own) - met), format_hours(hours), format_hours(hours // len(own))
        )
    return table


def _sample_table(evaluations: list[tuple[Arrival, Evaluation]]) -> Table:
    """The first few people who meet the year and the first few who do not."""
    sample = [pair for pair in evaluations if pair[1].met][: SAMPLE_SIZE // 2]
    sample += [pair for pair in evaluations if not pair[1].met][: SAMPLE_SIZE - len(sample)]
    table = Table(
        "person", "ID number", "institution", "at", "public", "prof.", "total", "met", "missing",
        title=f"a sample of {len(sample)}",
    )  # fmt: skip
    for arrival, evaluation in sample:
        earned = evaluation.earned
        table.add_row(
            arrival.member.name,
            mask_id_number(arrival.member.id_number),
            arrival.member.institution.name,
            "".join(VENDOR_MARKS[vendor] for vendor in arrival.member.vendors) or "—",
            format_hours(earned.public),
            format_hours(earned.professional),
            format_hours(earned.total),
            "[green]yes[/green]" if evaluation.met else "[red]no[/red]",
            _missing(evaluation),
        )
    return table


async def show_certificates(stage: Stage, met: list[tuple[Arrival, bool]], console: Console) -> str | None:
    """How many certificates the hub's own reviews issued, and a sample; returns the verification
    URL of the first one, if any."""
    certificates = stage.hub.certificates
    await certificates.review_due()  # the worker has likely done it already; a review is idempotent
    table = Table("person", "certificate", "public", "prof.", "total", "status", "basis", title="a sample")
    first: str | None = None
    statuses: Counter[str] = Counter()
    for arrival, _yes in met:
        for item in await certificates.history(PersonId(arrival.person_id)):
            certificate = item.certificate
            statuses[certificate.status.value] += 1
            first = first or certificates.verify_url(certificate.number)
            if table.row_count < SAMPLE_SIZE // 2:
                hours = certificate.facts.hours()
                table.add_row(
                    arrival.member.name,
                    certificate.number,
                    hours["public"],
                    hours["professional"],
                    hours["total"],
                    certificate.status.value,
                    certificate.basis.value,
                )
    console.print(table)
    revoked = f", {statuses['revoked']} revoked" if statuses["revoked"] else ""
    console.print(
        f"  {statuses['valid']} valid certificates{revoked}, each signed with the hub's document-signing key "
        "(in the JWKS)"
    )
    if first is not None:
        console.print(f"  verify one: {first}   (and {first}.json)")
    return first


async def show_hours_by_vendor(stage: Stage, arrivals: list[Arrival], console: Console) -> None:
    """The ledger's entries of the year by source (the vendors, offline, continuing_ed): credits,
    reversals and the hours that count."""
    credits: Counter[str] = Counter()
    reversals: Counter[str] = Counter()
    counted: Counter[str] = Counter()
    for arrival in arrivals:
        for entry in await stage.hub.ledger.entries_of(arrival.person_id, YEAR):
            (credits if entry.kind is EntryKind.CREDIT else reversals)[entry.source] += 1
            counted[entry.source] += entry.signed_hours
    for source in sorted(credits | reversals):
        console.print(
            f"  {source:<13} {credits[source]:>4} credits, {reversals[source]} reversals, "
            f"{format_hours(counted[source]):>8} h counted"
        )


async def show_verification(stage: Stage, console: Console) -> None:
    report = await stage.hub.ledger.verify_chain()
    mismatches = await stage.hub.ledger.balance_mismatches()
    if report.intact:
        console.print(
            f"  chain intact: {report.entries_checked} entries, head #{report.head_seq} {report.head_hash[:16]}…"
        )
    else:
        console.print(f"  [red]chain broken at #{report.first_bad_seq}: {report.problem}[/red]")
    console.print(
        f"  balances equal a full recomputation: {'yes' if not mismatches else f'no, {len(mismatches)} differ'}"
    )


async def show_held_records(stage: Stage, console: Console) -> None:
    held = await stage.hub.ledger.held_records()
    table = Table("source", "record", "kind", "reason", "why")
    for record in held:
        table.add_row(record.source, record.record_id, record.kind, record.reason, record.detail)
    console.print(table)
    console.print(f"  {len(held)} records wait for an operator; nothing was dropped")


async def show_ways_in(
    stage: Stage,
    met: list[tuple[Arrival, bool]],
    settings_file: Path,
    console: Console,
    *,
    recovered: Arrival | None,
    verify_url: str | None,
) -> None:
    """The URLs to open, the logins to use (staff, and console tokens made now) and the commands to run.
    The person who meets the year is one whom a recovered record brought over the line, if any."""
    hub, program, config = stage.hub_url, _hub_program(), f"--config {settings_file}"
    console.print(f"  the hub      {hub}/healthz  {hub}/openapi.json  {hub}/.well-known/jwks.json")
    console.print(f"  staff pages  {hub}/login  (or register at {hub}/register)")
    console.print(f"               {hub}/me/training?year={YEAR}  {hub}/me/certificates  {hub}/me/messages")
    if verify_url is not None:
        console.print(f"  a certificate's public verification: {verify_url}")
    examples = _examples(met, recovered)
    for arrival, yes in examples:
        verdict = "does not meet 2021 yet"
        if yes:
            verdict = "meets 2021" if arrival != recovered else "meets 2021 thanks to a record reconciliation recovered"
        member = arrival.member
        console.print(f"  sign in as {member.name} ({verdict}): ID number {member.id_number}, password {PASSWORD}")
    tokens = await _console_tokens(stage)
    console.print(f"  the console  {hub}{CONSOLE_SIGN_IN_PATH}: paste one of these bearer tokens")
    for role, (scope, token) in tokens.items():
        console.print(f"    {role.value:<10} {scope}: {token}")
    if examples:
        arrival = examples[0][0]
        login = json.dumps({"id_number": arrival.member.id_number, "password": PASSWORD})
        console.print(f"    curl -c jar -H 'Content-Type: application/json' -d '{login}' {hub}/api/v1/login")
        console.print(f"    curl -b jar {hub}/api/v1/me")
        console.print(f"    curl -b jar '{hub}/api/v1/me/hours?year={YEAR}'   curl -b jar {hub}/api/v1/me/certificates")
        ledger = f"{hub}/api/v1/people/{arrival.person_id}/ledger?year={YEAR}"
        console.print(f"    curl -H 'Authorization: Bearer {tokens[Role.OPERATOR][1]}' '{ledger}'")
    console.print(f"  the ledger   {program} ledger verify {config}")
    console.print(f"  trainings    {program} offline list {config}")
    console.print(f"  reconcile    {program} reconcile ischinese --year {YEAR} {config}")
    console.print(f"  pull again   {program} pull webtrn {config}")
    console.print(f"               {program} pull hnou --date 20211201 {config}")
    listing = f"{stage.urls['ischinese']}/api/v2/completions?year={YEAR}&per_page=5"
    console.print(f"  ischinese's listing: curl -H 'Authorization: Bearer {stage.shared.api_key}' '{listing}'")
    console.print(
        f"  webtrn's token: curl -u hub:{stage.shared.client_secret} "
        f"-d grant_type=client_credentials -d scope=completions.read {stage.urls['webtrn']}/oauth/token"
    )


async def _console_tokens(stage: Stage) -> dict[Role, tuple[str, str]]:
    """A token for each role of the console, made through the hub's access service: its scope and secret."""
    organisation = await stage.hub.organisation.organisation()
    department = organisation.departments[SUPERVISED_DEPARTMENT].name
    return {
        Role.OPERATOR: ("the whole province", await issue_token(stage, Role.OPERATOR, name="演示：运维")),
        Role.SUPERVISOR: (
            f"{department}, the institutions of its region",
            await issue_token(stage, Role.SUPERVISOR, name="演示：监管", department=SUPERVISED_DEPARTMENT),
        ),
        Role.AUDITOR: ("exports and chain verification", await issue_token(stage, Role.AUDITOR, name="演示：审计")),
    }


def _examples(met: list[tuple[Arrival, bool]], recovered: Arrival | None) -> list[tuple[Arrival, bool]]:
    """A person who meets the year (``recovered`` if given) and one who does not, where there are such people."""
    first: dict[bool, Arrival] = {} if recovered is None else {True: recovered}
    for arrival, yes in met:
        first.setdefault(yes, arrival)
    return [(first[yes], yes) for yes in (True, False) if yes in first]


def _hub_program() -> str:
    """How to call this ``hub`` from where the demo was started: ``.venv/bin/hub`` after ``make demo``."""
    program = Path(sys.executable).parent / "hub"
    if not program.exists():
        return "hub"
    with suppress(ValueError):  # not below the working folder: the whole path reads better
        return str(program.relative_to(Path.cwd()))
    return str(program)
