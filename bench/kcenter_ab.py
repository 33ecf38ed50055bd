"""A/B: ``kcenter_greedy(method="auto")`` of today's kernels against those of an older commit, interleaved.

    python bench/kcenter_ab.py --old d6e8ba0                 # the README K-Center cases
    python bench/kcenter_ab.py --old d6e8ba0 --repeat 5 --big

    python bench/kcenter_ab.py --old 65f42df --streamed     # the streamed run (deep nets) instead
    python bench/kcenter_ab.py --old 65f42df --dask         # distributed_kcenter on a 2-worker LocalCluster

Both versions run in one process on the same arrays, alternating (old, new, old, new, ...),
so a busy machine slows both alike; the table gives the median of each and the ratio. The old
``kernels/`` tree is taken with ``git archive`` into a temporary package (its one import from
``dami_np``, the BLAS thread cap, is replaced by the same cap through threadpoolctl). Picks are checked to be identical.
With ``--streamed`` the contestants are ``streamed_kcenter`` (the pool's points computed batch by
batch, never held whole) of the old commit's ``dami_np/strategies/_kcenter.py`` and of today's
tree (the block driver, ``strategies/_kcenter_blocks.py``), with the same kernels; the table also
gives the passes over the pool (rows computed / rows).  With ``--dask``: ``distributed_kcenter`` of the
old commit's ``dami_np/_dask/_kcenter.py`` (uploaded to the workers as a plain module) and of
today's ``_dask/_remote_blocks.py``, on the same scattered blocks of one LocalCluster.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _machine import machine_summary  # noqa: E402
from kcenter_speed import make_dami_data, make_data, warm_kernels  # noqa: E402

from dami_np import kernels as K  # noqa: E402


def load_old(commit: str, into: Path):
    """Import ``kernels/`` of ``commit`` as the package ``old_kernels``."""
    tar = subprocess.run(["git", "-C", str(HERE.parent), "archive", commit, "kernels"], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        tf.extractall(into, filter="data")
    pkg = into / "old_kernels"
    (into / "kernels").rename(pkg)
    for f in pkg.glob("*.py"):
        text = f.read_text()
        f.write_text(text.replace(  # dami_np._blas_threads is gone: the same cap through threadpoolctl
            "from .._blas_threads import limit_blas_threads",
            "from threadpoolctl import threadpool_limits as _limits\n"
            "limit_blas_threads = lambda n: _limits(limits=n, user_api='blas')  # noqa: E731",
        ))
    sys.path.insert(0, str(into))
    import old_kernels

    return old_kernels


def print_header(title: str) -> None:
    """Title (``{rev}`` = the working tree's commit), date, machine, load and command; warms the kernels."""
    rev = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    print(f"{title.format(rev=rev)}, {time.strftime('%Y-%m-%d %H:%M')}\n")
    print(f"Machine: {machine_summary()}; numba threads {K.get_num_threads()}  ")
    print(f"Load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())} (1, 5, 15 min)  ")
    print(f"Command: python {' '.join(sys.argv)}\n")
    warm_kernels()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True, help="commit whose kernels/ is the baseline")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--big", action="store_true", help="add 1M x 640 clustered, 1000 picks from 1000 centers")
    ap.add_argument("--streamed", action="store_true",
                    help="instead: streamed_kcenter of the old commit vs today's (float32 points, 8,192-row batches)")
    ap.add_argument("--dask", action="store_true",
                    help="instead: distributed_kcenter of the old commit vs today's (1M x 20, 136 blocks, 2 workers)")
    ap.add_argument("--one-center", action="store_true",
                    help="instead: the one-initial-center cases of kcenter_speed.py --low-dim")
    args = ap.parse_args()
    cases = [(100_000, 640, 100, 500, "gaussian"), (100_000, 640, 100, 500, "clustered"),
             (300_000, 64, 100, 500, "gaussian"), (300_000, 64, 100, 500, "clustered"),
             (100_000, 216, 100, 500, "dami W(x)")]
    if args.big:
        cases.append((1_000_000, 640, 1000, 1000, "clustered"))
    if args.one_center:
        cases = [(100_000, 2, 1, 1000, "gaussian"), (100_000, 3, 1, 1000, "gaussian"), (100_000, 8, 1, 1000, "gaussian"),
                 (100_000, 64, 1, 1000, "gaussian"), (100_000, 640, 1, 1000, "clustered")]
    if args.streamed:
        streamed_ab(args)
        return
    if args.dask:
        dask_ab(args)
        return
    with tempfile.TemporaryDirectory(prefix="kcenter-ab-") as tmp:
        old = load_old(args.old, Path(tmp))
        print_header(f"# K-Center A/B: kernels of {args.old} (old) vs the working tree at {{rev}} (new)")
        xw = make_data("clustered", 3000, 40, 0.3)
        old.kcenter_greedy(xw, 40, np.arange(0, 3000, 7))  # the old kernels compiled at import
        print("| case | old auto (s) | new auto (s) | new / old | same picks | old runs | new runs |")
        print("|---|---:|---:|---:|:---:|---|---|")
        for n, d, c, k, kind in cases:
            x = make_dami_data(n) if kind == "dami W(x)" else make_data(kind, n, d, 0.25)
            centers = np.random.default_rng(1).choice(n, c, replace=False)
            t_old, t_new, same = [], [], True
            for _ in range(args.repeat):
                for name, mod, out in (("old", old, t_old), ("new", K, t_new)):
                    t0 = time.perf_counter()
                    p = mod.kcenter_greedy(x, k, centers)
                    out.append(time.perf_counter() - t0)
                    if name == "old":
                        ref = p
                    else:
                        same = same and bool(np.array_equal(p, ref))
            mo, mn = statistics.median(t_old), statistics.median(t_new)
            title = f"{kind}, {n:,} x {x.shape[1]}, {k} picks from {c} centers"
            print(f"| {title} | {mo:.2f} | {mn:.2f} | {mn / mo:.2f} | {'yes' if same else 'NO'} | "
                  f"{', '.join(f'{t:.2f}' for t in t_old)} | {', '.join(f'{t:.2f}' for t in t_new)} |", flush=True)
            del x
    print(f"\nLoad average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def load_old_streamed(commit: str, into: Path):
    """``dami_np/strategies/_kcenter.py`` of ``commit`` as a module of today's ``dami_np.strategies``."""
    import importlib.util

    source = subprocess.run(["git", "-C", str(HERE.parent), "show", f"{commit}:dami_np/strategies/_kcenter.py"],
                            capture_output=True, check=True).stdout
    path = into / "old_streamed_kcenter.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("dami_np.strategies._old_streamed_kcenter", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def streamed_ab(args) -> None:
    from dami_np.strategies import _kcenter_grouped as new

    cases = [(200_000, 64, 100, 500, "gaussian"), (200_000, 64, 1000, 200, "clustered"),
             (50_000, 300, 50, 500, "gaussian"), (100_000, 216, 100, 500, "dami W(x)")]
    with tempfile.TemporaryDirectory(prefix="kcenter-ab-") as tmp:
        old = load_old_streamed(args.old, Path(tmp))
        print_header(f"## Streamed K-Center A/B: {args.old} (old) vs the working tree at {{rev}} (new, the block driver)")
        print("| case | old (s) | new (s) | new / old | same picks and radii | passes old / new | old runs | new runs |")
        print("|---|---:|---:|---:|:---:|---|---|---|")
        for n, d, c, k, kind in cases:
            x = make_dami_data(n) if kind == "dami W(x)" else make_data(kind, n, d, 0.25)
            x = np.ascontiguousarray(x, dtype=np.float32)
            centers = np.zeros(n, dtype=bool)
            centers[np.random.default_rng(1).choice(n, c, replace=False)] = True
            times = {"old": [], "new": []}
            passes, same, ref = {}, True, None
            for _ in range(args.repeat):
                for name, mod in (("old", old), ("new", new)):
                    computed = [0]

                    def points_of(rows, computed=computed):
                        computed[0] += len(rows)
                        return x[rows]

                    t0 = time.perf_counter()
                    got = mod.streamed_kcenter(np.arange(n), centers, k, points_of, x.shape[1], chunk_rows=8192)
                    times[name].append(time.perf_counter() - t0)
                    passes[name] = computed[0] / n
                    if name == "old":
                        ref = got
                    else:
                        same = same and all(np.array_equal(a, b) for a, b in zip(got, ref))
            mo, mn = statistics.median(times["old"]), statistics.median(times["new"])
            title = f"{kind}, {n:,} x {x.shape[1]} float32, {k} picks from {c} centers"
            print(f"| {title} | {mo:.2f} | {mn:.2f} | {mn / mo:.2f} | {'yes' if same else 'NO'} | "
                  f"{passes['old']:.2f} / {passes['new']:.2f} | {', '.join(f'{t:.2f}' for t in times['old'])} | "
                  f"{', '.join(f'{t:.2f}' for t in times['new'])} |", flush=True)
            del x
    print(f"\nLoad average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def dask_ab(args, n: int = 1_000_000, d: int = 20, n_blocks: int = 136, k: int = 1000, n_centers: int = 1000) -> None:
    import distributed

    from dami_np._dask import _remote_blocks as new

    with tempfile.TemporaryDirectory(prefix="kcenter-ab-") as tmp:
        source = subprocess.run(["git", "-C", str(HERE.parent), "show", f"{args.old}:dami_np/_dask/_kcenter.py"],
                                capture_output=True, check=True, text=True).stdout
        path = Path(tmp) / "old_dask_kcenter.py"
        path.write_text(source.replace("from .. import kernels", "from dami_np import kernels"))
        sys.path.insert(0, tmp)
        import old_dask_kcenter as old

        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c, \
                distributed.Client(c) as client:
            client.upload_file(str(path))
            print_header(f"## Distributed K-Center A/B: {args.old} (old) vs the working tree at {{rev}} (new, the block driver)")
            rng = np.random.default_rng(0)
            pts = rng.standard_normal((n, d))
            centers = np.zeros(n, dtype=bool)
            centers[rng.choice(n, n_centers, replace=False)] = True
            cuts = np.linspace(0, n, n_blocks + 1).astype(np.int64)
            futures = client.scatter([pts[a:b] for a, b in zip(cuts[:-1], cuts[1:])], hash=False)
            client.run(lambda: __import__("dami_np").kernels.nearest_sq_distances(np.ones((3, 2)), np.ones((1, 2))))
            print("| case | old (s) | new (s) | new / old | same picks and radii | round trips old / new | old runs | new runs |")
            print("|---|---:|---:|---:|:---:|---|---|---|")
            times, trips, same, ref = {"old": [], "new": []}, {}, True, None
            for _ in range(args.repeat):
                for name, mod in (("old", old), ("new", new)):
                    blocks = [mod.Block((int(a), int(b)), f, np.flatnonzero(centers[a:b]))
                              for a, b, f in zip(cuts[:-1], cuts[1:], futures)]
                    stats = mod.KCenterStats()
                    t0 = time.perf_counter()
                    got = mod.distributed_kcenter(client, blocks, pts[centers], k, stats=stats)
                    times[name].append(time.perf_counter() - t0)
                    trips[name] = stats.round_trips
                    if ref is None:
                        ref = got
                    same = same and all(np.array_equal(a, b) for a, b in zip(got, ref))
            mo, mn = statistics.median(times["old"]), statistics.median(times["new"])
            print(f"| gaussian, {n:,} x {d} in {n_blocks} blocks on 2 workers, {k} picks from {n_centers} centers | "
                  f"{mo:.2f} | {mn:.2f} | {mn / mo:.2f} | {'yes' if same else 'NO'} | {trips['old']} / {trips['new']} | "
                  f"{', '.join(f'{t:.2f}' for t in times['old'])} | {', '.join(f'{t:.2f}' for t in times['new'])} |")
    print(f"\nLoad average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
