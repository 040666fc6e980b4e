"""Requests per run on a Feishu sheet: the first run and the idle run after it, by endpoint.

    python bench/bench_feishu.py                  # 1k and 10k rows per big tab
    python bench/bench_feishu.py --sizes 1000

The workbook is bench/synth.py's (N rows of 客服台账 and N rows of 售后纠纷, ~10% of them bad,
plus the demo shop's small tabs), loaded into a fresh fake Feishu Open API on loopback
(tests/fake_feishu) and reached over HTTP by the real lark-oapi client, as the Google benchmark
does with its fake. Two full ``engine.run`` of the default jobs: the first (marks, routing fills,
问题清单, 周报, state, run log) and a second one on the unchanged sheet, which must only read.

Counted are API requests (the tenant_access_token request is counted apart: the SDK caches the
token for two hours, so a scheduler running every 15 minutes asks for it about once in eight
runs). Seconds are the CPU time of client and fake together on loopback, not Feishu's latency.
Each size runs in a fresh child process.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Any

import common  # first: puts the checkout on sys.path
from synth import generate

from sheetsync.engine import run
from sheetsync.registry import get_jobs

sys.path.insert(0, str(common.ROOT / "tests"))
from fake_feishu import start_fake_feishu  # noqa: E402  (lives with the tests)

SCRIPT = common.ROOT / "bench" / "bench_feishu.py"
WRITES = ("values_batch_update", "styles_batch_update", "sheets_batch_update", "dimension_range.add",
          "condition_formats.batch_create", "condition_formats.batch_update", "condition_formats.batch_delete")


def measure(n: int, seed: int = 0) -> dict[str, Any]:
    synthetic = generate(n, seed=seed)
    with start_fake_feishu(synthetic.tabs) as fake:
        out: dict[str, Any] = {"rows": n}
        for label, minutes in (("first", 0), ("idle", 15)):
            before, tokens = fake.request_count, fake.token_requests
            start = time.perf_counter()
            report = run(fake.backend(), get_jobs(None), now=synthetic.now.replace(minute=minutes))
            kinds = fake.kinds()[before:]
            out[label] = {"requests": len(kinds), "by_kind": dict(Counter(kinds)), "kinds": kinds,
                          "writes": sum(1 for k in kinds if k in WRITES), "token": fake.token_requests - tokens,
                          "seconds": round(time.perf_counter() - start, 2), "findings": len(report.findings)}
        return out


def main(argv: list[str] | None = None) -> None:
    parser = common.sizes_parser(__doc__, (1000, 10000))
    parser.add_argument("--child", type=int, help=argparse_hidden())
    args = parser.parse_args(argv)
    if args.child:
        common.emit(measure(args.child, args.seed))
        return
    results = [common.run_child(SCRIPT, [str(n), "--seed", str(args.seed)])
               for n in map(int, args.sizes.split(","))]
    rows = []
    for r in results:
        for label in ("first", "idle"):
            m = r[label]
            detail = ", ".join(f"{k} {v}" for k, v in m["by_kind"].items())
            rows.append([f"{r['rows']:,}", label, m["requests"], m["writes"], common.fmt_seconds(m["seconds"]), detail])
    print(common.table(["rows per big tab", "run", "requests", "of them writes", "seconds", "by endpoint"], rows))
    print()
    print(common.machine_info("lark-oapi"))


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
