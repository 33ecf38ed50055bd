"""Do two source trees pick the same rows?  Every report of one tree against the other's, byte for byte.

    python bench/same_picks.py --before f45cdcb                 # that commit against the working tree
    python bench/same_picks.py --before f45cdcb --after HEAD --rows 100000 --out bench/results/same-picks.md

A revision is exported with ``git archive REV | tar -x`` into a scratch directory (the working
tree is used as it is for ``--after .``, the default, and so is a directory given instead of a
revision, e.g. a revision with one helper's files copied over it) and each run is a fresh process with
``PYTHONPATH`` set to that tree.  Two kinds of run:

- the bench table of ``bench/end_to_end.py`` (``--rows``, ``--formats``): ``dami select`` for each
  strategy and hidden-layer depth (the default model's ``hidden_layer_sizes`` set as there);
- development tables (``bench/_tables.py``, ``--tables``): ``dami_np.select`` with ``--labeled``
  rows per table labeled (seeded), for the same strategies and depths.

The whole report (rows, pick order, distances, predictions, explanations, scores) is written as
CSV by each tree and compared byte for byte; the table states same / DIFFERENT per run, with the
first differing pick when any.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from end_to_end import BUDGET, HIDDEN, commit_name, make_table, uptime, write_result  # noqa: E402

_CLI = r"""
import sys
from dami_np import MLPClassifier
from dami_np.cli import main
MLPClassifier.__init__.__defaults__ = (tuple(int(h) for h in sys.argv[1].split(",")),)
sys.exit(main(sys.argv[2:]))
"""

_API = r"""
import sys
import numpy as np
sys.path.insert(0, sys.argv[5])
import dami_np
from dami_np import MLPClassifier
from _tables import load
name, hidden, strategy, out, bench, labeled = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
MLPClassifier.__init__.__defaults__ = (tuple(int(h) for h in hidden.split(",")),)
X, y = load(name)
rng = np.random.default_rng(7)
keep = rng.choice(len(y), size=min(labeled, len(y) - 25), replace=False)
masked = y.astype(object).where(np.isin(np.arange(len(y)), keep), None)
budget = 20
report = dami_np.select(X, masked, budget, strategy, random_state=3)
report.to_csv(out, index=False, float_format="%.17g")
"""


def export(rev: str, scratch: Path) -> Path:
    """The source tree of ``rev`` (``.``: the working tree itself; an existing directory: used as it is)."""
    if rev == ".":
        return ROOT
    if Path(rev).is_dir():
        return _own_kernels(Path(rev).resolve())
    target = scratch / rev.replace("/", "_")
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return _own_kernels(target)


def _own_kernels(tree: Path) -> Path:
    """``tree`` with ``dami_np/kernels`` linked to its own ``kernels/`` (installed as
    ``dami_np.kernels`` by the package mapping): without the link, ``import dami_np.kernels``
    falls through to the editable install's finder, i.e. the working tree's kernels."""
    link = tree / "dami_np" / "kernels"
    if (tree / "kernels").is_dir() and not link.exists():
        link.symlink_to(Path("..") / "kernels", target_is_directory=True)
    return tree


def run(tree: Path, command: list[str], out: Path) -> tuple[bytes, float]:
    """Run ``command`` with ``tree`` first on ``PYTHONPATH``; (the report's bytes, wall seconds)."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    env.pop("DAMI_NP_TIMINGS", None)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tree)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed in {tree} ({done.returncode}): {' '.join(command)}\n{done.stderr[-2000:]}")
    return out.read_bytes(), wall


def first_difference(a: bytes, b: bytes) -> str:
    left, right = a.decode().splitlines(), b.decode().splitlines()
    for i, (x, y) in enumerate(zip(left, right)):
        if x != y:
            return f"line {i}: `{x[:60]}` vs `{y[:60]}`"
    return f"{len(left)} vs {len(right)} lines"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision, or a source tree's directory")
    parser.add_argument("--after", default=".", help="git revision, a source tree's directory, or . for the "
                        "working tree (default)")
    parser.add_argument("--rows", default="100000,1000000", help="bench table sizes ('' for none)")
    parser.add_argument("--formats", default="parquet")
    parser.add_argument("--strategies", default="margin,dami_margin,dami")
    parser.add_argument("--depths", default="1,2")
    parser.add_argument("--tables", default="wdbc,german,titanic,spambase,satimage,letter",
                        help="development tables (bench/_tables.py; '' for none)")
    parser.add_argument("--labeled", type=int, default=200, help="labeled rows per development table")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "dami-end-to-end")
    parser.add_argument("--out", type=Path, help="append the Markdown result to this file (default: stdout)")
    args = parser.parse_args()
    python = sys.executable
    lines = [f"## `python bench/same_picks.py {' '.join(sys.argv[1:])}`", "",
             f"- date: {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC; load before: `{uptime()}`",
             f"- before: {args.before}; after: {args.after if args.after != '.' else 'the working tree at ' + commit_name()}",
             "", "| table | layers | strategy | picks | report sha256 (first 12) | before s | after s |",
             "|---|---|---|---|---|---|---|"]
    different = 0
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        trees = {"before": export(args.before, scratch), "after": export(args.after, scratch)}
        jobs = []
        for rows in [int(r) for r in args.rows.split(",") if r]:
            paths = make_table(rows, args.data)
            for fmt in args.formats.split(","):
                jobs.append((f"bench {rows:,} {fmt}", lambda out, hidden, strategy, p=str(paths[fmt]): [
                    python, "-c", _CLI, hidden, "select", p, "--label", "label", "--budget", str(BUDGET),
                    "--strategy", strategy, "--out", str(out), "-q"]))
        for name in [t for t in args.tables.split(",") if t]:
            jobs.append((name, lambda out, hidden, strategy, n=name: [
                python, "-c", _API, n, hidden, strategy, str(out), str(ROOT / "bench"), str(args.labeled)]))
        for label, command_of in jobs:
            for depth in [int(d) for d in args.depths.split(",")]:
                hidden = ",".join(str(h) for h in HIDDEN[depth])
                for strategy in args.strategies.split(","):
                    reports, walls = {}, {}
                    for side, tree in trees.items():
                        out = scratch / f"{side}.csv"
                        reports[side], walls[side] = run(tree, command_of(out, hidden, strategy), out)
                    same = reports["before"] == reports["after"]
                    different += not same
                    verdict = "same" if same else "DIFFERENT: " + first_difference(reports["before"], reports["after"])
                    digest = hashlib.sha256(reports["after"]).hexdigest()[:12]
                    row = (f"| {label} | {depth} | {strategy} | {verdict} | {digest} | {walls['before']:.2f} | "
                           f"{walls['after']:.2f} |")
                    print(row, file=sys.stderr, flush=True)
                    lines.append(row)
    lines += ["", f"- {'every report is the same' if not different else f'{different} report(s) differ'}; "
              f"load after: `{uptime()}`", ""]
    write_result(lines, args.out)
    raise SystemExit(1 if different else 0)


if __name__ == "__main__":
    main()
