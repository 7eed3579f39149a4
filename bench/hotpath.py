"""The ingest hot path in one process, for A/B comparisons on a machine whose speed drifts.

    python bench/hotpath.py [--batches 8] [--runs 7]            # wall time: min and median spans/s
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        python bench/hotpath.py --runs 1                         # instructions (see bench/README.md)

Decodes pre-serialised 8 192-span batches (bench/workload.py), runs the edge rules and the
aggregator on them and writes the aggregates to a fresh SQLite store, as the server's worker does,
without the network. With `--runs 0` it only imports and builds the batches: under callgrind, the
instruction count of `--runs 1` minus that of `--runs 0` is the hot path's, which does not depend
on what else the machine runs (set PYTHONHASHSEED=0 for both).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.workload import make_batch
from collector.decode import decode_request_bytes
from collector.pipeline import IngestPipeline
from graph.store.sqlite import SQLiteStore

SPANS_PER_BATCH = 8192


def run_once(batches: list[bytes]) -> float:
    """Seconds to decode, pair, aggregate and store the batches once, into a fresh store."""
    with tempfile.TemporaryDirectory(prefix="ownermap-hotpath-") as tmp:
        store = SQLiteStore(Path(tmp) / "hotpath.db")
        try:
            pipeline = IngestPipeline(store)
            started = time.perf_counter()
            for data in batches:
                pipeline.ingest(decode_request_bytes(data).spans)
                pipeline.flush()
            pipeline.finish()
            return time.perf_counter() - started
        finally:
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--runs", type=int, default=7, help="0: only build the batches (a callgrind baseline)")
    args = parser.parse_args()
    batches = [make_batch(seed, SPANS_PER_BATCH) for seed in range(args.batches)]
    times = [run_once(batches) for _ in range(args.runs)]
    if times:
        spans = args.batches * SPANS_PER_BATCH
        print(f"spans {spans} runs {len(times)} min {spans / max(times):.0f} "
              f"median {spans / statistics.median(times):.0f} best {spans / min(times):.0f} spans/s")


if __name__ == "__main__":
    main()
