"""The baseline of the webhook benchmark: an aiohttp endpoint that answers 202 and does nothing.

python -m bench.bare_endpoint PORT
"""

from __future__ import annotations

import sys

from aiohttp import web


async def accept(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(status=202)


def main() -> None:
    app = web.Application()
    app.router.add_post("/webhooks/ischinese", accept)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)


if __name__ == "__main__":
    main()
