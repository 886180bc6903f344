"""The baseline of the webhook benchmark: an aiohttp endpoint that answers 202 and does nothing.

python -m bench.bare_endpoint PORT [WORKERS]

With WORKERS above 1, that many processes share the port (``SO_REUSEPORT``), as ``hub serve
--workers`` does, so that the hub is compared with as many bare processes as it runs.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys

from aiohttp import web


async def accept(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(status=202)


def serve(port: int, reuse_port: bool) -> None:
    app = web.Application()
    app.router.add_post("/webhooks/ischinese", accept)
    web.run_app(app, host="127.0.0.1", port=port, reuse_port=reuse_port, print=None)


def main() -> None:
    port = int(sys.argv[1])
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    if workers == 1:
        serve(port, reuse_port=False)
        return
    signal.signal(signal.SIGTERM, lambda _signal, _frame: sys.exit(0))  # so that the workers are stopped
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=serve, args=(port, True)) for _ in range(workers)]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join()
    finally:
        for process in processes:
            process.terminate()


if __name__ == "__main__":
    main()
