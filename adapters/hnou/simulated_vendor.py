"""湖南开放大学 (hnou) as one simulated vendor: its LTI tool and its sending side in one app.

The LTI tool (``simulator.py``) keeps a learner for each launch, keyed by the ID number in the
registration claim; the hours side (``simulator_hours.py``) reports those learners' completions by
that ID number in signed forms posted to the hub, and serves the daily files. Each side keeps its
module; this one mounts them together, as the vendor is one site.

    app = create_vendor_simulator("http://127.0.0.1:8080", client_id="…", deployment_id="…",
                                  appid="hub", appsecret="…")
    vendor = app[VENDOR]            # .learners (from the launches), .hours (forms and daily files)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import httpx
from aiohttp import web

from adapters.hnou.simulator import SIMULATOR, Learner, LtiTool, create_simulator
from adapters.hnou.simulator_hours import HoursSimulator, SimulatedCompletion

__all__ = ["VENDOR", "SimulatedHnou", "create_vendor_simulator"]

SEND_CONNECTIONS_MAX: Final = 20


@dataclass(slots=True)
class SimulatedHnou:
    """hnou's two sides; its learners are the ones its LTI tool keeps by ID number."""

    tool: LtiTool
    hours: HoursSimulator

    @property
    def learners(self) -> list[Learner]:
        """The learners, in the order of their first launch."""
        return list(self.tool.accounts.values())

    def completion_of(
        self,
        learner: Learner,
        record_no: str,
        *,
        course_code: str,
        course_title: str,
        subject: str,
        hours: str,
        completed_at: datetime,
    ) -> SimulatedCompletion:
        """A completion of this learner, keyed by the ID number the launch gave the tool."""
        return SimulatedCompletion(
            record_no=record_no,
            id_number=learner.id_number,
            name=str(learner.registration.get("name", "")),
            course_code=course_code,
            course_title=course_title,
            subject=subject,
            hours=hours,
            completed_at=completed_at,
        )


VENDOR = web.AppKey("hnou_vendor", SimulatedHnou)


def create_vendor_simulator(
    hub_base_url: str,
    *,
    client_id: str,
    deployment_id: str,
    appid: str,
    appsecret: str,
    retry_delay_seconds_base: float = 1.0,
    retry_delay_seconds_max: float = 300.0,
    attempts_max: int = 100,
) -> web.Application:
    """The whole of hnou for a hub whose ``base_url`` is ``hub_base_url``: ``/lti/login``,
    ``/lti/launch``, ``GET /api/daily``, and forms posted to the hub with an HTTP client closed with
    the app."""
    app = create_simulator(hub_base_url, client_id=client_id, deployment_id=deployment_id)
    http = httpx.AsyncClient(limits=httpx.Limits(max_connections=SEND_CONNECTIONS_MAX))
    hours = HoursSimulator(
        appid=appid,
        appsecret=appsecret,
        hub_url=hub_base_url,
        http=http,
        retry_delay_seconds_base=retry_delay_seconds_base,
        retry_delay_seconds_max=retry_delay_seconds_max,
        attempts_max=attempts_max,
    )
    app.add_routes(hours.routes())
    app[VENDOR] = SimulatedHnou(app[SIMULATOR], hours)

    async def sending_client(_app: web.Application) -> AsyncIterator[None]:
        yield
        await http.aclose()

    app.cleanup_ctx.append(sending_client)
    return app
