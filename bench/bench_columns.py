"""Rows of Python cells -> typed columns: pandas/numpy (what sheetsync uses) against pyarrow and polars.

    python bench/bench_columns.py --rows 200000

The question behind the choice of columnar library: a backend hands over Python objects (rows of
str / datetime / int / None, as calamine, gspread and lark give them), the columns people type
mix types (a real date cell, then ``2026/11/20 10:05`` typed as text), and every messy form that
reads today must keep reading. Each side turns the 客服台账 rows of the synthetic workbook into a
typed 咨询时间 column (datetime) and a 客户 column (text), from the same rows in memory:

* pandas: ``sheetsync.core.parsing.parse_series`` — transpose, group cells by Python type,
  vectorised fast paths, the scalar parser once per distinct leftover value;
* pyarrow: ``pa.array`` of the column cannot hold mixed str/datetime, so every cell goes to text
  first, then ``pc.strptime`` for the common format; the rest would still need the scalar parser
  (timed here without it: a lower bound);
* polars: ``pl.Series(values, strict=False)`` casts the mixed column to text likewise, then
  ``str.to_datetime`` for the common format (again a lower bound).

Prints seconds per side (best of three) for the column conversions only.
"""

from __future__ import annotations

import argparse
import sys
import time

import common  # noqa: F401 - puts the checkout on sys.path
from synth import CS_TITLE, generate


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args(argv)
    rows = generate(args.rows).tabs[CS_TITLE]
    header = rows[0]
    asked, customer = header.index("咨询时间"), header.index("客户")
    body = rows[1:]

    import pandas as pd
    from sheetsync.core.parsing import parse_series

    def with_pandas():
        cols = list(zip(*body, strict=True))
        parse_series(pd.Series(cols[asked], dtype=object), "datetime", year=2026)
        parse_series(pd.Series(cols[customer], dtype=object), "text", year=2026)

    results = {"pandas + numpy (sheetsync)": best(with_pandas)}
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        def with_arrow():
            cols = list(zip(*body, strict=True))
            texts = pa.array([None if v is None else str(v) for v in cols[asked]], type=pa.string())
            pc.strptime(pc.replace_substring(texts, "/", "-"), format="%Y-%m-%d %H:%M:%S", unit="s", error_is_null=True)
            pa.array([None if v is None else str(v) for v in cols[customer]], type=pa.string())

        results["pyarrow (lower bound)"] = best(with_arrow)
    except ImportError:
        pass
    try:
        import polars as pl

        def with_polars():
            cols = list(zip(*body, strict=True))
            s = pl.Series("asked", cols[asked], dtype=pl.String, strict=False)
            s.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False)
            pl.Series("customer", cols[customer], dtype=pl.String, strict=False)

        results["polars (lower bound)"] = best(with_polars)
    except ImportError:
        pass
    print(common.machine_info("pandas", "numpy", "pyarrow", "polars"))
    print(common.table(["side", f"seconds for 2 columns of {args.rows:,} rows", "vs pandas"],
                       [[k, f"{v:.3f}", f"{v / results['pandas + numpy (sheetsync)']:.2f}×"] for k, v in results.items()]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
