"""Seconds for `dami label` to write one answer into the table (merge under the lock, only one cell).

    python bench/label_answer.py                      # 1,000 and 100,000 rows x 20 columns, 10 answers each
    python bench/label_answer.py --out bench/results/label-answer.md   # append the result as Markdown

Each answer goes through ``write_answer`` (the page's one writer: lock, fingerprint check, the one
label cell edited, temporary file + rename), so the time is what a click costs on that table.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_summary  # noqa: E402

from dami_np.cli.label_page._table_labels import TableOptions, write_answer  # noqa: E402


def _table(rows: int, path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.standard_normal((rows, 20)), columns=[f"x{j}" for j in range(20)])
    frame["class"] = pd.Series([None] * rows, dtype=object)
    frame.loc[: rows // 10, "class"] = "a"
    frame.to_csv(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000,100000")
    parser.add_argument("--answers", type=int, default=10)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    load = os.getloadavg()
    lines = [f"## `python bench/label_answer.py --rows {args.rows} --answers {args.answers}`", "",
             f"- date: {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {machine_summary()}",
             f"- load before: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}", "",
             "| rows x 20 columns (CSV) | answers | median s per answer | max s |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for rows in (int(r) for r in args.rows.split(",")):
            path = Path(tmp) / f"t{rows}.csv"
            _table(rows, path)
            options = TableOptions(str(path), "class")
            seconds = []
            for i in range(args.answers):
                start = time.perf_counter()
                write_answer(options, rows - 1 - i, "b")
                seconds.append(time.perf_counter() - start)
            lines.append(f"| {rows:,} | {args.answers} | {np.median(seconds):.3f} | {max(seconds):.3f} |")
    load = os.getloadavg()
    lines += ["", f"- load after: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}", ""]
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "a") as handle:
            handle.write(text)
    print(text)


if __name__ == "__main__":
    main()
