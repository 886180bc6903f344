"""网梯 (webtrn)'s side of the SSO handoff, as a small aiohttp app for the demo and tests.

vendors.md §2: "As for ischinese, with ``aud`` = ``webtrn`` …; webtrn asks for ``alg`` = ``ES256``".
The protocol being the same, so is the vendor's side: ischinese's jwt-post vendor with webtrn's
audience and its one algorithm. It fetches the hub's JWKS over HTTP and shares no code with the
hub's signing side.

    app = create_simulator("http://127.0.0.1:8080")
    state = app[SIMULATOR]          # .accounts by sub, .refusals in order
"""

from __future__ import annotations

import time
from typing import Final

from aiohttp import web

from adapters.ischinese.simulator import SIMULATOR, Clock, JwtPostVendor, create_jwt_post_simulator

__all__ = ["ALGORITHMS", "AUDIENCE", "SIMULATOR", "create_simulator"]

AUDIENCE: Final = "webtrn"
ALGORITHMS: Final = ("ES256",)


def create_simulator(hub_base_url: str, *, clock: Clock = time.time) -> web.Application:
    """webtrn's side of the handoff, for a hub whose ``base_url`` is ``hub_base_url``."""
    vendor = JwtPostVendor(
        issuer=hub_base_url, audience=AUDIENCE, algorithms=ALGORITHMS, account_prefix="wt", clock=clock
    )
    return create_jwt_post_simulator(vendor)
