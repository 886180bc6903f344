"""思想天下 (ischinese) as one simulated vendor: its SSO side and its sending side in one app.

The SSO side (``simulator.py``) creates an account for each learner the hub hands over; the hours
side (``simulator_hours.py``) reports those learners' completions under the ``sub`` the hub gave
them, links their accounts, and serves the listing. Each side keeps its module; this one mounts
them together, as the vendor is one site.

    app = create_vendor_simulator("http://127.0.0.1:8080", webhook_secret="whsec_…", api_key="…")
    vendor = app[VENDOR]            # .accounts (from the handoff), .hours (the sending side)
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import httpx
from aiohttp import web

from adapters.ischinese.simulator import SIMULATOR, Account, JwtPostVendor, create_simulator
from adapters.ischinese.simulator_hours import Event, HoursSimulator, Sending, SimulatedCompletion

__all__ = ["VENDOR", "SimulatedIschinese", "create_vendor_simulator"]

SEND_CONNECTIONS_MAX: Final = 20


@dataclass(slots=True)
class SimulatedIschinese:
    """ischinese's two sides; its learners are the accounts its SSO side created."""

    sso: JwtPostVendor
    hours: HoursSimulator
    linked: set[str] = field(default_factory=set)
    """The subs whose ``account.linked`` event the vendor has sent."""

    @property
    def accounts(self) -> list[Account]:
        """The learners' accounts, in the order they were created."""
        return list(self.sso.accounts.values())

    def completion_of(
        self,
        account: Account,
        completion_id: str,
        *,
        course_id: str,
        course_title: str,
        subject: str,
        hours: str,
        completed_at: datetime,
    ) -> SimulatedCompletion:
        """A completion of this learner, reported under the ``sub`` the hub gave the account."""
        return SimulatedCompletion(completion_id, account.sub, course_id, course_title, subject, hours, completed_at)

    def link_events(self) -> list[Event]:
        """``account.linked`` for every account not linked yet (each is linked once)."""
        fresh = [account for account in self.accounts if account.sub not in self.linked]
        self.linked.update(account.sub for account in fresh)
        return [self.hours.account_linked(account.sub, account.account_id) for account in fresh]

    async def link_accounts(self) -> list[Sending]:
        """Send ``account.linked`` for every account not linked yet."""
        return [await self.hours.send(event) for event in self.link_events()]


VENDOR = web.AppKey("ischinese_vendor", SimulatedIschinese)


def create_vendor_simulator(
    hub_base_url: str,
    *,
    webhook_secret: str,
    api_key: str,
    retry_delay_seconds_base: float = 5.0,
    retry_delay_seconds_max: float = 3600.0,
    attempts_max: int = 20,
) -> web.Application:
    """The whole of ischinese for a hub whose ``base_url`` is ``hub_base_url``: ``POST /sso/launch``,
    ``GET /api/v2/completions``, and webhooks sent to the hub with an HTTP client closed with the app."""
    app = create_simulator(hub_base_url, clock=time.time)
    http = httpx.AsyncClient(limits=httpx.Limits(max_connections=SEND_CONNECTIONS_MAX))
    hours = HoursSimulator(
        hub_url=hub_base_url,
        webhook_secret=webhook_secret,
        api_key=api_key,
        http=http,
        retry_delay_seconds_base=retry_delay_seconds_base,
        retry_delay_seconds_max=retry_delay_seconds_max,
        attempts_max=attempts_max,
    )
    app.add_routes(hours.routes())
    app[VENDOR] = SimulatedIschinese(app[SIMULATOR], hours)

    async def sending_client(_app: web.Application) -> AsyncIterator[None]:
        yield
        await http.aclose()

    app.cleanup_ctx.append(sending_client)
    return app
