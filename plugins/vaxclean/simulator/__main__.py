"""`python -m vaxclean.simulator --scenario DIR --port P`: serve a scenario's platform and feedback APIs.

Prints one line `listening on http://HOST:PORT` when ready (port 0 picks a free port and prints it);
stops cleanly on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from vaxclean.simulator.server import make_server

log = logging.getLogger("vaxclean.simulator")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m vaxclean.simulator", description=__doc__)
    parser.add_argument("--scenario", type=Path, required=True, help="scenario directory (reads platform/, feedback/)")
    parser.add_argument("--port", type=int, required=True, help="TCP port; 0 picks a free one")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--token", default=os.environ.get("VAXCLEAN_SIMULATOR_TOKEN") or None,
                        help="Bearer token; better the env VAXCLEAN_SIMULATOR_TOKEN (`ps` shows arguments). Without "
                             "one, a server on 127.0.0.1 takes `dev-token`; on another address it refuses to start")
    parser.add_argument("--rate-429", type=float, default=0.0, help="share of data requests answered 429")
    parser.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds of a 429")
    parser.add_argument("--rate-5xx", type=float, default=0.0, help="share of data requests answered 500/502/503")
    parser.add_argument("--rate-slow", type=float, default=0.0, help="share of data requests delayed")
    parser.add_argument("--slow-seconds", type=float, default=2.0, help="delay of a slow response")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault draws")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.token is None:
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            log.error("no token (VAXCLEAN_SIMULATOR_TOKEN): a simulator reachable from other machines needs one")
            return 2
        args.token = "dev-token"  # only this machine can reach it
    server = make_server(
        args.scenario, args.host, args.port, token=args.token,
        rate_429=args.rate_429, retry_after=args.retry_after, rate_5xx=args.rate_5xx,
        rate_slow=args.rate_slow, slow_seconds=args.slow_seconds, seed=args.seed,
    )
    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d received, stopping", signum)
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    print(f"listening on {server.url}", flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
