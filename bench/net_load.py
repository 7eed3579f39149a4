"""The network doors under overload (issue #14 items 3 and 4), against a real `ownermap serve`:

- `grpc`: CALLS concurrent Export calls of one ~8 MiB request over 4 channels; prints the status
  codes and the server's peak RSS (VmHWM), with or without the OTLP token (then the calls carry none);
- `http`: SENDERS threads posting a small OTLP/HTTP request in a loop while /healthz is timed every
  0.1 s on a fresh connection; prints the /healthz p50/p95/max and the senders' status counts.

    .venv/bin/python bench/net_load.py grpc [--token] [--calls 200]
    .venv/bin/python bench/net_load.py http [--senders 100] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.integration.net_load import big_request, grpc_flood, http_senders_with_probe, small_request
from tests.integration.serve_process import ServeProcess, sqlite_url


def main() -> None:
    """Run one scenario and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=["grpc", "http"])
    parser.add_argument("--token", action="store_true", help="grpc: set OWNERMAP_OTLP_TOKEN, send none")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--senders", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"OWNERMAP_OTLP_TOKEN": "bench-token"} if args.token else {}
        server = ServeProcess(sqlite_url(Path(tmp) / "net.db"), env=env).start()
        assert server.proc is not None
        try:
            if args.scenario == "grpc":
                payload = big_request()
                flood = grpc_flood(server.grpc, server.proc.pid, payload, calls=args.calls)
                print(json.dumps({"calls": args.calls, "payload_bytes": len(payload), "token": args.token,
                                  "codes": dict(flood.codes), "peak_rss_mb": round(flood.peak_rss_mb),
                                  "seconds": round(flood.seconds, 1)}))
            else:
                load = http_senders_with_probe(server.http, server.api, small_request(), senders=args.senders,
                                               seconds=args.seconds)
                ms = sorted(x * 1000 for x in load.health)
                print(json.dumps({"senders": args.senders, "probes": len(ms),
                                  "healthz_ms": {"p50": round(statistics.median(ms), 1),
                                                 "p95": round(load.p95() * 1000, 1), "max": round(ms[-1], 1)},
                                  "statuses": {str(k): v for k, v in load.statuses.items()}}))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
