"""The vendors deliver the year's hours, each through its own protocol, and the demo tells what
the hub made of them.

- ischinese pushes signed webhooks: accounts linked, completions, a few events lost on the way, a
  revocation that overtakes its completion, a redelivery, a corrected record that conflicts, and a
  completion of a learner the hub never handed over; its listing still shows the lost ones.
- webtrn serves pages that the hub pulls (``hub pull webtrn``'s logic), through a 429 and a 401;
  a record entered late with its old time stamps stays behind the pull's watermark.
- hnou posts signed forms (a revocation and an unknown ID number among them), and its daily files
  fill in the notifications that never went out (``hub pull hnou``'s logic), but for a day whose
  file the hub did not fetch.

What goes astray is the cast's ``Strays``; reconciliation recovers it afterwards. The other mishaps
befall people other than theirs, so that a recovered record decides its person's year.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final, TypeVar

from rich.console import Console

from adapters.hnou.simulator_hours import SimulatedCompletion as SimulatedCompletionAtHnou
from adapters.ischinese.simulator import Account
from adapters.ischinese.simulator_hours import HoursSimulator, Sending, SimulatedCompletion
from adapters.webtrn.simulator_api import WebtrnApiSimulator
from gateway.demo.cast import YEAR, Strays, Study
from gateway.demo.stage import Stage
from gateway.pulls import describe, pull_counts, store_daily_file
from ledger.model import BEIJING, Source
from sso.id_numbers import make_id_number

__all__ = ["hnou_posts_and_files", "ischinese_pushes", "webtrn_is_pulled"]

SENDS_AT_ONCE: Final = 8
UNNOTIFIED_RECORDS: Final = 3
WEBTRN_FIRST_ID: Final = 88_001
REVOKED_ON: Final = datetime(YEAR, 12, 1, 10, 0, tzinfo=BEIJING)

Result = TypeVar("Result")


async def _at_most(count: int, work: Iterable[Awaitable[Result]]) -> list[Result]:
    """Await every piece of work, ``count`` at a time, and return their results in order."""
    gate = asyncio.Semaphore(count)

    async def one(piece: Awaitable[Result]) -> Result:
        async with gate:
            return await piece

    return list(await asyncio.gather(*(one(piece) for piece in work)))


def _pick(items: list[Result], count: int, offset: int) -> list[Result]:
    """``count`` items spread evenly over the list, starting at ``offset``: who the mishaps befall."""
    if not items:
        return []
    step = max(1, len(items) // (count + 1))
    return [items[(offset + step * (number + 1)) % len(items)] for number in range(count)]


# ---------------------------------------------------------------- ischinese


def _status(sending: Sending) -> str:
    """What the hub said it did with a delivered event (``appended``, ``duplicate``, ``held``…)."""
    if sending.lost:
        return "lost"
    try:
        answer = json.loads(sending.attempts[-1].text)
    except ValueError:
        return f"HTTP {sending.attempts[-1].status}"
    return str(answer.get("status", sending.attempts[-1].status)) if isinstance(answer, dict) else "?"


def _tally(sendings: Iterable[Sending]) -> str:
    counts = Counter(_status(sending) for sending in sendings)
    return ", ".join(f"{count} {status}" for status, count in counts.most_common())


def _ischinese_completions(stage: Stage, studies: list[Study]) -> dict[Study, SimulatedCompletion]:
    vendor = stage.ischinese
    accounts: dict[object, Account] = {account.registration.get("email"): account for account in vendor.accounts}
    ours = [study for study in studies if study.course.vendor == "ischinese"]
    return {
        study: vendor.completion_of(
            accounts[study.member.email],
            f"c-{number:06d}",
            course_id=study.course.code,
            course_title=study.course.title,
            subject=study.course.subject,
            hours=study.course.hours,
            completed_at=study.completed_at,
        )
        for number, study in enumerate(ours, start=1)
    }


def _spared(studies: dict[Study, Result], strays: Strays) -> list[Result]:
    """What belongs to people other than those of the strays: the other mishaps befall them."""
    return [item for study, item in studies.items() if study.member.id_number not in strays.people]


async def ischinese_pushes(stage: Stage, studies: list[Study], strays: Strays, console: Console) -> None:
    """ischinese links its accounts and pushes its completions as Standard Webhooks, with mishaps."""
    linked = await stage.ischinese.link_accounts()
    console.print(f"  account.linked for {len(linked)} accounts → {_tally(linked)}")
    completions = _ischinese_completions(stage, studies)
    lost = [completions[study] for study in strays.ischinese]
    spared = _spared(completions, strays)
    delivered = await _push_losing_some_and_overtaking_one(
        stage.ischinese.hours, list(completions.values()), lost, spared, console
    )
    spared_ids = {completion.completion_id for completion in spared}
    corrected = [sending for sending in delivered if sending.event.completion_id in spared_ids]
    await _redeliver_correct_and_report_a_stranger(stage.ischinese.hours, delivered[0], corrected, console)


async def _push_losing_some_and_overtaking_one(
    hours: HoursSimulator,
    completions: list[SimulatedCompletion],
    lost: list[SimulatedCompletion],
    spared: list[SimulatedCompletion],
    console: Console,
) -> list[Sending]:
    """Send every completion but the lost ones; one of the spared is revoked, and its revocation arrives first."""
    hours.lose(*(completion.completion_id for completion in lost))
    [overtaken] = _pick(spared, 1, offset=0)
    created = {completion.completion_id: hours.keep(completion) for completion in completions}
    revocation = hours.withdraw(overtaken.completion_id, "学习记录异常（挂机刷课），撤销")

    early = await hours.send(revocation)
    ordinary = [event for key, event in created.items() if key != overtaken.completion_id]
    sent = await _at_most(SENDS_AT_ONCE, (hours.send(event) for event in ordinary))
    late = await hours.send(created[overtaken.completion_id])
    console.print(f"  {len(sent)} completion.created events, signed with standardwebhooks → {_tally(sent)}")
    lost_ids = ", ".join(completion.completion_id for completion in lost)
    console.print(f"  lost on the way, never sent: {lost_ids} (the vendor believes they went out)")
    console.print(
        f"  {overtaken.completion_id} revoked before its completion arrived: the revocation → {_status(early)}, "
        f"then the completion → {_status(late)} (and the waiting reversal with it)"
    )
    return [sending for sending in sent if _status(sending) == "appended"]


async def _redeliver_correct_and_report_a_stranger(
    hours: HoursSimulator, first: Sending, delivered: list[Sending], console: Console
) -> None:
    """A redelivery of a stored event, a correction that conflicts, and a learner the hub never handed over."""
    corrected = delivered[len(delivered) // 2]
    again = await hours.send(first.event)
    console.print(
        f"  a redelivery of {first.event.webhook_id} ({first.event.completion_id}), the same webhook-id "
        f"→ {_status(again)}: nothing changed"
    )
    original = hours.completion(str(corrected.event.completion_id))
    fixed_hours = str(Decimal(original.hours) + 2)
    conflict = await hours.send(hours.keep(replace(original, hours=fixed_hours)))
    console.print(
        f"  {original.completion_id} sent again with {fixed_hours} h instead of {original.hours} h "
        f"→ {_status(conflict)} (conflict): the first version stays, the new one waits for an operator"
    )
    stranger = SimulatedCompletion(
        "c-900001", "isc-local-account-7", "XJP-2021-01", "习近平新时代中国特色社会主义思想概论", "public", "12",
        datetime(YEAR, 9, 9, 9, 9, tzinfo=BEIJING),
    )  # fmt: skip
    unknown = await hours.send(hours.keep(stranger))
    console.print(f"  c-900001, of an account the hub never handed over → {_status(unknown)} (unknown person)")


# ---------------------------------------------------------------- webtrn


def _serve_webtrn_completion(stage: Stage, record_id: int, study: Study) -> None:
    accounts = {account.registration.get("email"): account for account in stage.webtrn.accounts}
    stage.webtrn.complete(
        accounts[study.member.email],
        record_id,
        course_code=study.course.code,
        course_name=study.course.title,
        subject=study.course.subject,
        hours=study.course.hours,
        finished_at=study.completed_at,
        updated_at=study.completed_at + timedelta(minutes=3),
    )


async def webtrn_is_pulled(stage: Stage, studies: list[Study], strays: Strays, console: Console) -> None:
    """webtrn serves its completions in pages; the hub pulls them as ``hub pull webtrn`` does. One
    record is entered late, with the time stamps of its completion: behind the watermark."""
    api: WebtrnApiSimulator = stage.webtrn.api
    ours = {
        study: record_id
        for record_id, study in enumerate(
            (study for study in studies if study.course.vendor == "webtrn"), WEBTRN_FIRST_ID
        )
    }
    for study, record_id in ours.items():
        if study != strays.webtrn:
            _serve_webtrn_completion(stage, record_id, study)
    console.print(f"  webtrn serves {len(api.items())} completions, at most {api.page_size_max} a page")
    api.answer(429, on_requests=[2], retry_after_seconds=1)
    api.answer(401, on_requests=[3])
    puller = stage.hub.vendors.puller(Source.WEBTRN)
    report = await puller.pull()
    console.print(
        f"  the hub pulls: {describe(pull_counts(report))} in {report.pages} pages, through a 429 on the "
        f"2nd request (it waited the 1 s of Retry-After) and a 401 on the 3rd (a new token, one more try)"
    )
    if strays.webtrn is not None:
        late = ours[strays.webtrn]
        _serve_webtrn_completion(stage, late, strays.webtrn)
        console.print(
            f"  webtrn's support desk enters {late} late, with the time stamps of its completion on "
            f"{strays.webtrn.completed_at:%Y-%m-%d}: behind the hub's watermark, no pull will see it"
        )
    [revoked] = _pick(_spared(ours, strays), 1, offset=2)
    api.revoke(revoked, updated_at=REVOKED_ON)
    again = await puller.pull()
    watermark = "" if report.read_to is None else f"{report.read_to:%Y-%m-%dT%H:%M:%SZ}"
    console.print(
        f"  webtrn revokes {revoked}: it comes again with a new updated_at. The next pull starts at the "
        f"watermark {watermark}: {describe(pull_counts(again))} (the item at the watermark comes again "
        "and changes nothing; the revocation is a reversal)"
    )


# ---------------------------------------------------------------- hnou


def _keep_hnou_completions(stage: Stage, studies: list[Study]) -> dict[Study, str]:
    vendor = stage.hnou
    ours = [study for study in studies if study.course.vendor == "hnou"]
    record_numbers = {}
    for number, study in enumerate(ours, start=1):
        learner = vendor.tool.accounts[study.member.id_number]
        record_no = f"HN{YEAR}{number:06d}"
        vendor.hours.keep(
            vendor.completion_of(
                learner,
                record_no,
                course_code=study.course.code,
                course_title=study.course.title,
                subject=study.course.subject,
                hours=study.course.hours,
                completed_at=study.completed_at,
            )
        )
        record_numbers[study] = record_no
    return record_numbers


async def hnou_posts_and_files(stage: Stage, studies: list[Study], strays: Strays, console: Console) -> date | None:
    """hnou posts a signed form per record; its daily files bring the ones never posted, but for the
    stray's day, whose file the hub does not fetch. Returns that day."""
    hours = stage.hnou.hours
    record_numbers = _keep_hnou_completions(stage, studies)
    stray = None if strays.hnou is None else record_numbers[strays.hnou]
    skipped = None if stray is None else hours.records[stray].changed_on
    spared = _spared(record_numbers, strays)
    unposted = [
        record_no
        for record_no in _pick(spared, UNNOTIFIED_RECORDS, offset=0)
        if hours.records[record_no].changed_on != skipped
    ]
    posted = [record_no for record_no in record_numbers.values() if record_no not in {*unposted, stray}]
    answers = await _at_most(SENDS_AT_ONCE, (hours.notify(record_no) for record_no in posted))
    tries = sum(len(answer) for answer in answers)
    console.print(f"  {len(posted)} signed forms posted → {len(answers)} SUCCESS in {tries} tries")
    [withdrawn] = _pick([record_no for record_no in spared if record_no in posted], 1, offset=1)
    hours.revoke(withdrawn, REVOKED_ON)
    console.print(f"  {withdrawn} revoked (zt=0) → {(await hours.notify(withdrawn))[-1][1]}: a reversal entry")
    stranger = _stranger_at_hnou()
    hours.keep(stranger)
    console.print(
        f"  {stranger.record_no}, of an ID number nobody registered → {(await hours.notify(stranger.record_no))[-1][1]}"
        " (held for an operator)"
    )
    days = sorted({hours.records[record_no].changed_on for record_no in unposted})
    console.print(f"  {len(unposted)} notifications never went out ({', '.join(unposted)}): the daily files bring them")
    files = stage.hub.vendors.batches(Source.HNOU)
    for day in days:
        counts = await store_daily_file(stage.hub.ledger, files, day)
        console.print(f"    hub pull hnou --date {day:%Y%m%d}: {describe(counts)}")
    if skipped is not None:
        console.print(
            f"  {stray}'s notification never went out either, and the morning job did not fetch the file of "
            f"{skipped:%Y-%m-%d}"
        )
    return skipped


def _stranger_at_hnou() -> SimulatedCompletionAtHnou:
    return SimulatedCompletionAtHnou(
        record_no=f"HN{YEAR}900001",
        id_number=make_id_number("430102", date(1991, 7, 1), 998),
        name="未注册学员",
        course_code="HN-2021-ZY07",
        course_title="行业前沿与案例研究",
        subject="professional",
        hours="30",
        completed_at=datetime(YEAR, 10, 10, 10, 10, tzinfo=BEIJING),
    )
