"""网梯 (webtrn) as one simulated vendor: its SSO side and its completions API in one app.

The SSO side (``simulator.py``) creates an account for each learner the hub hands over; the API
side (``simulator_api.py``) issues tokens and serves those learners' completions in pages, under
the ``sub`` the hub gave them, for the hub to pull. Each side keeps its module; this one mounts
them together, as the vendor is one site.

    app = create_vendor_simulator("http://127.0.0.1:8080", client_id="hub", client_secret="…")
    vendor = app[VENDOR]            # .accounts (from the handoff), .api (tokens, pages, faults)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from adapters.ischinese.simulator import Account, JwtPostVendor
from adapters.webtrn.simulator import SIMULATOR, create_simulator
from adapters.webtrn.simulator_api import LIMIT_MAX, WebtrnApiSimulator

__all__ = ["VENDOR", "SimulatedWebtrn", "create_vendor_simulator"]


@dataclass(slots=True)
class SimulatedWebtrn:
    """webtrn's two sides; its learners are the accounts its SSO side created."""

    sso: JwtPostVendor
    api: WebtrnApiSimulator

    @property
    def accounts(self) -> list[Account]:
        """The learners' accounts, in the order they were created."""
        return list(self.sso.accounts.values())

    def complete(
        self,
        account: Account,
        record_id: int,
        *,
        course_code: str,
        course_name: str,
        subject: str,
        hours: str,
        finished_at: datetime,
        updated_at: datetime,
    ) -> None:
        """Serve a completion of this learner, under the ``sub`` the hub gave the account."""
        self.api.complete(
            record_id,
            sub=account.sub,
            updated_at=updated_at,
            course_code=course_code,
            course_name=course_name,
            subject=subject,
            hours=hours,
            finished_at=finished_at,
        )


VENDOR = web.AppKey("webtrn_vendor", SimulatedWebtrn)


def create_vendor_simulator(
    hub_base_url: str, *, client_id: str, client_secret: str, page_size_max: int = LIMIT_MAX
) -> web.Application:
    """The whole of webtrn for a hub whose ``base_url`` is ``hub_base_url``: ``POST /sso/launch``,
    ``POST /oauth/token`` and ``GET /api/v1/completions``."""
    app = create_simulator(hub_base_url)
    api = WebtrnApiSimulator(client_id=client_id, client_secret=client_secret, page_size_max=page_size_max)
    api.add_routes(app)
    app[VENDOR] = SimulatedWebtrn(app[SIMULATOR], api)
    return app
