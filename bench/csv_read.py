"""Peak memory and time of reading a large CSV: the plain ``pd.read_csv`` against the chunked read.

    python bench/csv_read.py                                   # the 1M-row end-to-end table, 3 rounds
    python bench/csv_read.py --out bench/results/csv-read.md   # append the result as Markdown

Every measurement is a fresh process timed by GNU time (wall, peak RSS), the variants interleaved
round by round (same load):

- ``read_csv plain`` / ``read_csv chunked``: ``read_table`` of the CSV, with the frame made by
  ``pd.read_csv(**options)`` or by ``_csv_chunks.read_csv_chunked(options)`` (the options
  ``_read_csv`` builds, captured in the process); the time is that call's alone;
- ``dami select plain`` / ``dami select chunked``: the whole command (``--label label --budget 100
  --strategy margin -q``) through ``dami_np.cli.console_main``, with the chunked read switched off
  (size threshold raised) or left on; the read stage's wall time from ``DAMI_NP_TIMINGS=1``;
- with ``--pyarrow``: ``pyarrow.csv.read_csv`` (all cores, ``""`` the only missing marker, ``label``
  as text) and ``to_pandas(split_blocks, self_destruct)``, the issue's "fast reader" candidate (not
  the same options: no per-column markers, pyarrow's own error messages).

The table is ``bench/end_to_end.py``'s (``--rows`` x 50 float columns and a mostly empty
``label``); make it with that script first (``--data`` is the same directory).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_summary  # noqa: E402

_READ = r"""
import sys, time
import pandas as pd
from dami_np.cli import _table_reader, _csv_chunks
variant, path = sys.argv[1], sys.argv[2]
def frame(source, options):
    start = time.perf_counter()
    if variant == "chunked":
        out = _csv_chunks.read_csv_chunked(source.pandas_source(), options)
        assert out is not None, "the chunked read stepped aside"
    else:
        out = pd.read_csv(source.pandas_source(), **options)
    print(f"call_seconds={time.perf_counter() - start:.3f}", file=sys.stderr)
    return out
_table_reader._csv_frame = frame
table = _table_reader.read_table(path, text_columns=["label"])
print(f"shape={table.frame.shape}", file=sys.stderr)
"""

_PYARROW = r"""
import sys, time
import pyarrow as pa, pyarrow.csv as pacsv
start = time.perf_counter()
table = pacsv.read_csv(sys.argv[1], convert_options=pacsv.ConvertOptions(
    null_values=[""], strings_can_be_null=True, column_types={"label": pa.string()}))
frame = table.to_pandas(split_blocks=True, self_destruct=True)
del table
print(f"call_seconds={time.perf_counter() - start:.3f}", file=sys.stderr)
"""

_SELECT = r"""
import sys
from dami_np.cli import _table_reader
if sys.argv[1] == "plain":
    _table_reader.CHUNKED_MIN_BYTES = 1 << 62
sys.argv = ["dami"] + sys.argv[2:]
from dami_np.cli import console_main
console_main()
"""


def _run(code: str, args: list[str]) -> dict[str, float]:
    """One fresh process under GNU time: wall, peak RSS (GiB) and the numbers it printed."""
    env = {**os.environ, "DAMI_NP_TIMINGS": "1"}
    command = ["/usr/bin/time", "-f", "gnu_time %e %M", sys.executable, "-c", code, *args]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(args)}\n{done.stderr[-2000:]}")
    out: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if line.startswith("gnu_time "):
            _, wall, peak_kb = line.split()
            out["wall"], out["peak_gib"] = float(wall), int(peak_kb) / 2**20
        elif line.startswith("call_seconds="):
            out["call"] = float(line.split("=", 1)[1])
        elif line.startswith("dami-timing:") and " stage=read " in line:
            out["call"] = float(line.split(" wall=", 1)[1].split()[0])
    return out


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "dami-end-to-end")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pyarrow", action="store_true", help="also time pyarrow.csv.read_csv")
    parser.add_argument("--out", type=Path, help="append the Markdown result to this file (default: stdout)")
    args = parser.parse_args()
    table = args.data / f"table-{args.rows}.csv"
    if not table.exists():
        raise SystemExit(f"{table} is missing: make it with python bench/end_to_end.py --rows {args.rows}")
    picks = Path(tempfile.mkdtemp()) / "picks.csv"
    select = [str(table), "--label", "label", "--budget", "100", "--strategy", "margin", "-q", "--out", str(picks)]
    variants = {
        "read_csv plain": (_READ, ["plain", str(table)]),
        "read_csv chunked": (_READ, ["chunked", str(table)]),
        **({"pyarrow.csv read_csv": (_PYARROW, [str(table)])} if args.pyarrow else {}),
        "dami select plain": (_SELECT, ["plain", "select", *select]),
        "dami select chunked": (_SELECT, ["chunked", "select", *select]),
    }
    load_before = _uptime()
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for round_ in range(args.repeat):
        for name, (code, argv) in variants.items():
            runs[name].append(_run(code, argv))
            print(f"round {round_ + 1} {name}: {runs[name][-1]}", file=sys.stderr, flush=True)
    load_after = _uptime()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    lines = [
        f"## CSV read, {args.rows:,} x 51 ({table.stat().st_size / 1e6:.0f} MB), {_dt.date.today()}",
        "",
        f"- machine: {machine_summary()}",
        f"- load before: `{load_before}`; after: `{load_after}`",
        f"- commit {commit} (plus the working tree), pandas {_pandas_version()}; {args.repeat} rounds, variants "
        "interleaved; median (min-max)",
        f"- command: `python bench/csv_read.py --rows {args.rows} --repeat {args.repeat}"
        f"{' --pyarrow' if args.pyarrow else ''}`",
        "",
        "| variant | read s (the call / read stage) | process wall s | peak RSS GiB |",
        "|---|---|---|---|",
    ]
    for name, results in runs.items():
        lines.append(f"| {name} | {_cell(results, 'call')} | {_cell(results, 'wall')} | {_cell(results, 'peak_gib')} |")
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "a") as handle:
            handle.write(text + "\n")
    print(text)


def _cell(results: list[dict[str, float]], key: str) -> str:
    values = [r[key] for r in results if key in r]
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def _pandas_version() -> str:
    import pandas

    return pandas.__version__


if __name__ == "__main__":
    main()
