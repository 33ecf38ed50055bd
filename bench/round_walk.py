"""The walk from ``dami select`` to the kernels: which source files sit on the call stacks that
reach a kernel, in stack order (``python bench/round_walk.py [SOURCE_ROOT]``).

Runs ``dami select`` (default strategy) on a bundled table with a profiler hook; at every call
into ``kernels/`` it records the files of the frames on the stack.  Prints the number of distinct
files and each distinct stack (as file names), and flags a "climb": a frame of a higher layer
(CLI > round and Dask > strategies > model > kernels) called from a lower one.  ``--api``: measure
``dami_np.select`` instead of the command; ``--dask``: ``dami_np.select`` on a dask DataFrame (3
partitions) with an in-process LocalCluster of 2 workers (threads, so the hook sees the workers'
stacks too: a task's stack starts at the function the driver submitted); ``--strategy=NAME``: another
strategy than the default.  ``SOURCE_ROOT``: a source
tree to measure instead of this one (e.g. an export of an older commit, with ``kernels`` linked as
``dami_np/kernels``).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

API = "--api" in sys.argv  # dami_np.select(...) instead of the dami select command
DASK = "--dask" in sys.argv  # dami_np.select(dask DataFrame) on an in-process LocalCluster
STRATEGY = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--strategy=")), None)  # default: the library's
args = [a for a in sys.argv[1:] if a not in ("--api", "--dask") and not a.startswith("--strategy=")]
root = Path(args[0] if args else Path(__file__).resolve().parents[1])
sys.path.insert(0, str(root))
if args:  # measure that tree, not the editable install of this one
    sys.meta_path = [f for f in sys.meta_path if "editable" not in repr(f).lower()]

LAYERS = [("cli/", 5), ("_dask/", 4), ("_round", 4), ("_select", 4), ("_simulate", 4), ("strategies/", 3), ("kernels/", 1)]


def layer(name: str) -> int:
    for key, value in LAYERS:
        if key in name:
            return value
    return 2  # model and shared helpers


def main() -> None:
    import dami_np
    from dami_np.cli import main as dami

    package = Path(dami_np.__file__).parent
    kernels = Path(dami_np.kernels.__file__).parent
    tops = (str(package), str(kernels))
    stacks: set[tuple[str, ...]] = set()
    executed: set[str] = set()

    def short(path: str) -> str:
        p = Path(path)
        return ("kernels/" + str(p.relative_to(kernels))) if str(p).startswith(str(kernels)) else str(p.relative_to(package))

    def hook(frame, event, arg):  # noqa: ANN001
        if event == "call" and frame.f_code.co_name != "<module>" and frame.f_code.co_filename.startswith(tops):
            executed.add(short(frame.f_code.co_filename))
        if event != "call" or not frame.f_code.co_filename.startswith(str(kernels)):
            return
        chain, f = [], frame
        while f is not None:
            name = f.f_code.co_filename
            if name.startswith(tops):
                s = short(name)
                if not chain or chain[-1] != s:
                    chain.append(s)
            f = f.f_back
        stacks.add(tuple(reversed(chain)))

    X, y = dami_np.datasets.load("segment")
    frame = X.copy()
    frame["label"] = y.astype(object).where(frame.index < 60, None)
    if DASK:
        _walk_dask(dami_np, frame, hook)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.csv")
        frame.to_csv(path, index=False)
        sys.setprofile(hook)
        try:
            if DASK:
                pass
            elif API:
                dami_np.select(X, frame["label"], 10, strategy=STRATEGY, random_state=0)
            else:
                dami(["select", path, "--label", "label", "--budget", "10", "--out", os.path.join(tmp, "p.csv"), "-q"]
                     + (["--strategy", STRATEGY] if STRATEGY else []))
        finally:
            sys.setprofile(None)
    files = sorted({f for chain in stacks for f in chain})
    print(f"source root: {root}  path: {'Dask (API, 2 in-process workers)' if DASK else 'API' if API else 'dami select'}"
          f"  strategy: {STRATEGY or 'default'}")
    print(f"files on the walk from dami select to the kernels (stack frames reaching a kernel): {len(files)}")
    print(f"files with a function run by the whole dami select: {len(executed)}")
    climbs = set()
    for chain in sorted(stacks):
        for a, b in zip(chain, chain[1:]):
            if layer(b) > layer(a):
                climbs.add(f"{a} -> {b}")
    print(f"climbs (a lower layer calling a higher one): {len(climbs)}")
    for c in sorted(climbs):
        print(f"  {c}")
    for f in files:
        print(f"  {f}")
    print("all files run:", " ".join(sorted(executed)))


def _walk_dask(dami_np, frame, hook) -> None:  # noqa: ANN001
    """One ``dami_np.select`` on a dask DataFrame, the hook on the driver and on every worker thread."""
    import threading

    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    threading.setprofile(hook)  # worker threads start after this
    try:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
                Client(cluster):
            ddf = dd.from_pandas(frame, npartitions=3)
            sys.setprofile(hook)
            try:
                dami_np.select(ddf, "label", 10, strategy=STRATEGY, random_state=0)
            finally:
                sys.setprofile(None)
    finally:
        threading.setprofile(None)


if __name__ == "__main__":
    main()
