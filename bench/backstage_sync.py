"""A Backstage sync at the design scale (DESIGN §7): 20 000 entities over 40 pages from a local server.

    python bench/backstage_sync.py [--entities 20000] [--page-size 500] [--repeat 3] [--json]

A child process serves the Backstage `by-query` API on a loopback port (the shapes Backstage
documents, with the fields the server adds: uid, etag, relations, status). This process builds a
`CatalogSource` on `backstage+http://…` and times `reload()` (every page fetched, checked against
`totalItems`, read by the entity reader, merged and indexed), reporting the sync time and the RSS
growth of this process (after the sync, and at its peak, against the RSS before). It then checks
the synced catalog equals the same entities loaded from descriptor files.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from bench.ingest import current_rss_mb, peak_rss_mb
from ownership.catalog import load_catalog
from ownership.catalog.live import LiveOptions
from ownership.source import CatalogSource
from tests.ownership.catalog.backstage_server import TOKEN, BackstageServer, FakeBackstage, sample_entities


def serve(entities: int, page_size: int, ports: Any, stop: Any) -> None:
    """The child process: serve `entities` until told to stop."""
    fake = FakeBackstage(sample_entities(entities - 2 * 100, teams=100), page_size=page_size)
    with BackstageServer(fake) as server:
        ports.put(server.port)
        stop.wait()


def sync_once(url: str) -> dict[str, Any]:
    """One sync from scratch in this process: seconds and RSS growth (MiB)."""
    before = current_rss_mb_self()
    source = CatalogSource([url], live=LiveOptions(backstage_token=TOKEN))
    started = time.perf_counter()
    report = source.reload()
    seconds = time.perf_counter() - started
    after = current_rss_mb_self()
    [status] = source.status()
    assert report.complete and not status.errors, status
    return {"seconds": round(seconds, 2), "entities": status.entities, "rss_growth_mb": round(after - before, 1),
            "peak_rss_growth_mb": round(peak_rss_mb_self() - before, 1), "source": source}


def current_rss_mb_self() -> float:
    """VmRSS of this process."""
    import os

    return current_rss_mb(os.getpid())


def peak_rss_mb_self() -> float:
    """VmHWM of this process."""
    import os

    return peak_rss_mb(os.getpid())


def equals_files(source: CatalogSource, entities: int) -> bool:
    """Whether the synced catalog equals the same entities read from descriptor files."""
    items = sample_entities(entities - 2 * 100, teams=100)
    files = [{k: v for k, v in item.items() if k not in ("relations", "status")} for item in items]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "catalog-info.yaml").write_text(yaml.safe_dump_all(files), encoding="utf-8")
        from_files = load_catalog([tmp])

    def content(entity: Any) -> dict[str, Any]:
        return {k: v for k, v in entity.to_dict().items() if k not in ("source", "line", "errors")}

    api_entities = source.index.catalog.entities
    return [content(e) for e in api_entities] == [content(e) for e in from_files.entities]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=20_000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3, help="syncs, each in a fresh child process of this one")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    ports, stop = ctx.Queue(), ctx.Event()
    child = ctx.Process(target=serve, args=(args.entities, args.page_size, ports, stop), daemon=True)
    child.start()
    try:
        url = f"backstage+http://127.0.0.1:{ports.get(timeout=60)}"
        runs = [run_in_child(ctx, url) for _ in range(args.repeat)]
        equal = verify(url, args.entities)
    finally:
        stop.set()
        child.join(10)
    summary = {"entities": runs[0]["entities"], "pages": -(-runs[0]["entities"] // args.page_size),
               "median_seconds": statistics.median(r["seconds"] for r in runs),
               "max_seconds": max(r["seconds"] for r in runs),
               "max_rss_growth_mb": max(r["rss_growth_mb"] for r in runs),
               "max_peak_rss_growth_mb": max(r["peak_rss_growth_mb"] for r in runs),
               "equals_files": equal, "runs": runs}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")


def _measure(url: str, out: Any) -> None:
    result = sync_once(url)
    result.pop("source")
    out.put(result)


def run_in_child(ctx: Any, url: str) -> dict[str, Any]:
    """One sync in a fresh process, so that each starts from the same RSS."""
    out = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(url, out))
    proc.start()
    result = out.get(timeout=300)
    proc.join(30)
    return result


def verify(url: str, entities: int) -> bool:
    """Sync once here and compare with the files."""
    return equals_files(sync_once(url)["source"], entities)


if __name__ == "__main__":
    main()
