"""Greedy K-Center speed: dami_np.kernels vs the usual implementations, side by side in one process.

    python bench/kcenter_speed.py --quick      # small shapes, about a minute
    python bench/kcenter_speed.py              # 100k x 640 and 300k x 64, 500 picks from 100 centers
    python bench/kcenter_speed.py --big        # also 1M x 640 clustered, 1000 picks from 1000 centers (ours only; 2.5 GB)
    python bench/kcenter_speed.py --big-only   # just that case;  --dami adds real DAMI W(x) rows
    python bench/kcenter_speed.py --low-dim    # one initial center, D = 2, 3, 8, 64, 640, against fpsample

Data is float32: "gaussian" = standard normal rows (no structure: no exact method can skip
work), "clustered" = 50 Gaussian blobs (means ~ N(0, 1), within-blob std ``--blob-std``),
"dami W(x)" (``--dami``) = flattened Jacobians of a small ReLU MLP trained on satimage.
Prints the machine, then per case the time of every implementation (median of
``--repeat`` runs), its ratio to ``dami auto``, whether its picks equal ours (and the share
of picks in common), and the memory-bandwidth floor of a brute-force pass per pick
(k * n * D * 4 bytes / 35 GB/s). The GEMV and torch.cdist baselines compute distances with
the float32 expansion ``|x|^2 + |c|^2 - 2 x.c``, which rounds differently, so on near-ties
they may pick other rows (a different but equally valid greedy run); every dami method, the
plain loop (differences) and the google-style baseline (the expansion in float64, as
scikit-learn computes it) agree. ``--low-dim`` adds ``fpsample`` (compiled farthest-point
sampling, ``fps_sampling`` = exact vanilla FPS; ``pip install fpsample``, in the ``bench``
extra), started from the one initial center and compared on the picks after it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _kcenter_baselines as KB  # noqa: E402
from _machine import machine_summary  # noqa: E402

from dami_np import kernels as K  # noqa: E402

FLOOR_BYTES_PER_S = 35e9


@dataclass
class Case:
    n: int
    d: int
    n_centers: int
    k: int
    data: str
    impls: tuple[str, ...]


def make_data(kind: str, n: int, d: int, blob_std: float, seed: int = 0) -> np.ndarray:
    """float32 (n, d) rows: standard normal, or 50 Gaussian blobs; generated in chunks."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, d), dtype=np.float32)
    means = rng.standard_normal((50, d), dtype=np.float32)
    step = max(1, (64 << 20) // (4 * d))
    for i in range(0, n, step):
        m = min(step, n - i)
        block = rng.standard_normal((m, d), dtype=np.float32)
        if kind == "clustered":
            block *= np.float32(blob_std)
            block += means[rng.integers(0, 50, m)]
        x[i : i + m] = block
    return x


def make_dami_data(n: int, hidden: int = 32, seed: int = 0) -> np.ndarray:
    """Real DAMI representations: flattened W(x) of a small ReLU MLP trained on satimage,
    for a pool of ``n`` rows (bundled rows plus small noise); float32 (n, 6 * 36)."""
    from dami_np import MLPClassifier, datasets

    X, y = datasets.load("satimage")
    X = X.to_numpy(dtype=np.float32)
    X = (X - X.mean(0)) / (X.std(0) + 1e-6)
    model = MLPClassifier((hidden,), max_iter=20, random_state=seed).fit(X, y.to_numpy())
    rng = np.random.default_rng(seed)
    pool = X[rng.integers(0, X.shape[0], n)] + np.float32(0.05) * rng.standard_normal((n, X.shape[1]), dtype=np.float32)
    W, _ = model.local_linear(pool)
    return np.ascontiguousarray(W.reshape(n, -1), dtype=np.float32)


def impl_table(threads: int) -> dict[str, Callable[[np.ndarray, int, np.ndarray], np.ndarray]]:
    table: dict[str, Callable] = {
        "dami auto": lambda p, k, c: K.kcenter_greedy(p, k, c, method="auto"),
        "numba prange (plain loop)": KB.kcenter_numba_prange,
        "numpy gemv": KB.kcenter_numpy_gemv,
        "google style": KB.kcenter_google_style,
    }
    if KB.torch_available():
        import torch

        torch.set_num_threads(threads)
        table["torch cdist"] = KB.kcenter_torch_cdist
    if fpsample_available():
        table["fpsample fps_sampling"] = kcenter_fpsample
    return table


def fpsample_available() -> bool:
    try:
        import fpsample  # noqa: F401
    except ImportError:
        return False
    return True


def kcenter_fpsample(points: np.ndarray, k: int, centers: np.ndarray) -> np.ndarray:
    """fpsample's exact vanilla FPS from the given center(s); the picks after them."""
    import fpsample

    start = [int(c) for c in np.atleast_1d(centers)]
    out = fpsample.fps_sampling(np.ascontiguousarray(points, dtype=np.float32), k + len(start),
                                start_idx=start[0] if len(start) == 1 else start)
    return np.asarray(out, dtype=np.int64)[len(start):]


def machine() -> str:
    parts = [
        machine_summary(),
        f"Python {platform.python_version()}, NumPy {np.__version__}",
        f"numba threads {K.get_num_threads()} (NUMBA_ENABLED={K.NUMBA_ENABLED})",
    ]
    try:
        import numba

        parts.append(f"Numba {numba.__version__}")
    except ImportError:
        pass
    if KB.torch_available():
        import torch

        parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    return "; ".join(parts)


def run(case: Case, table: dict, repeat: int, blob_std: float) -> list[tuple[str, float, bool, float]]:
    x = make_dami_data(case.n) if case.data == "dami W(x)" else make_data(case.data, case.n, case.d, blob_std)
    centers = np.random.default_rng(1).choice(case.n, case.n_centers, replace=False)
    results = []
    ours = None
    for name in case.impls:
        if name not in table:
            continue
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            picks = table[name](x, case.k, centers)
            times.append(time.perf_counter() - t0)
            if times[-1] > 10.0:  # slow baselines: one run is enough
                break
        if ours is None:
            ours = picks
        common = np.intersect1d(picks, ours).size / max(1, case.k)
        results.append((name, statistics.median(times), bool(np.array_equal(picks, ours)), common))
        print(f"  {name:<28s} {results[-1][1]:9.2f} s", file=sys.stderr, flush=True)
    return results


def warm_kernels(d: int = 8) -> None:
    """Compile (or load) every kernel the timed runs can use, serial and parallel, float32,
    so no timing includes a compilation (kernels compile lazily, at first call)."""
    from dami_np.kernels import _dedupe, _kcenter_screened, _numba_policy, _screen

    knobs = [(_numba_policy, "SMALL_WORK"), (_kcenter_screened, "_PARALLEL_MIN"), (_kcenter_screened, "_PASS_PARALLEL_MIN"),
             (_screen, "_PARALLEL_MIN"), (_screen, "_SERIAL_ELEMS"), (_screen, "_SERIAL_GEMM_MACS"),
             (_screen, "_PARALLEL_WORK_MIN"), (_dedupe, "_PARALLEL_MIN"),
             (_kcenter_screened, "_ACTIVE_MIN"), (_kcenter_screened, "_ACTIVE_PER_PICK")]
    saved = [getattr(m, a) for m, a in knobs]
    try:
        for parallel in (False, True):
            for (m, a), v in zip(knobs, saved):
                setattr(m, a, 0 if parallel or a in ("SMALL_WORK", "_ACTIVE_PER_PICK") else 4 if a == "_ACTIVE_MIN" else v)
            for dim in (d, 40):  # D <= 8: k-d tree cells; more: the screened active set
                x = make_data("clustered", 3000, dim, 0.3)
                K.kcenter_greedy(x, 40, np.arange(0, 3000, 7))
                K.kcenter_greedy(x, 40)
    finally:
        for (m, a), v in zip(knobs, saved):
            setattr(m, a, v)


def warm_up(table: dict) -> None:
    warm_kernels()
    x = make_data("clustered", 500, 8, 0.3)
    for f in table.values():
        f(x, 5, np.arange(3))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small shapes (20k x 640, 60k x 64; 100 picks from 20 centers)")
    ap.add_argument("--big", action="store_true", help="add 1M x 640 clustered, 1000 picks from 1000 centers (ours only)")
    ap.add_argument("--big-only", action="store_true", help="run only the --big case")
    ap.add_argument("--dami", action="store_true", help="add real DAMI W(x) (MLP on satimage, 100k-row pool, D=216)")
    ap.add_argument("--low-dim", action="store_true",
                    help="only the one-initial-center cases (D = 2, 3, 8, 64, 640) against fpsample")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--threads", type=int, default=K.get_num_threads())
    ap.add_argument("--blob-std", type=float, default=0.25, help="within-blob std of clustered data (means ~ N(0,1))")
    ap.add_argument("--skip", nargs="*", default=[], help="implementation names to leave out, e.g. 'google style'")
    args = ap.parse_args()

    K.set_num_threads(args.threads)
    table = {k: v for k, v in impl_table(args.threads).items() if k not in set(args.skip)}
    everyone = tuple(table)
    shapes = [(20_000, 640, 20, 100), (60_000, 64, 20, 100)] if args.quick else [(100_000, 640, 100, 500), (300_000, 64, 100, 500)]
    cases = [Case(n, d, c, k, kind, everyone) for (n, d, c, k) in shapes for kind in ("gaussian", "clustered")]
    if args.dami:
        cases.append(Case(20_000 if args.quick else 100_000, 216, 100, 500, "dami W(x)", everyone))
    if args.big_only or args.low_dim:
        cases = []
    if args.low_dim:
        low = ("dami auto", "fpsample fps_sampling", "numba prange (plain loop)")
        for n, d, k, kind in [(100_000, 2, 1000, "gaussian"), (100_000, 3, 1000, "gaussian"), (1_000_000, 3, 2000, "gaussian"),
                              (100_000, 8, 1000, "gaussian"), (100_000, 64, 1000, "gaussian"), (100_000, 640, 1000, "clustered")]:
            cases.append(Case(n, d, 1, k, kind, tuple(i for i in low if i in table)))
    if args.big or args.big_only:
        cases.append(Case(1_000_000, 640, 1000, 1000, "clustered", ("dami auto",)))

    print(f"# Greedy K-Center speed ({time.strftime('%Y-%m-%d %H:%M')})\n")
    print(f"Machine: {machine()}  ")
    print(f"Load average at start: {os.getloadavg()[0]:.2f} (other processes share these cores)  ")
    print(f"Command: python {' '.join(sys.argv)}\n")
    warm_up(table)
    for case in cases:
        title = f"{case.data}, {case.n:,} x {case.d} float32, {case.k} picks from {case.n_centers} centers"
        print(f"## {title}\n", flush=True)
        print(title, file=sys.stderr, flush=True)
        res = run(case, table, args.repeat, args.blob_std)
        base = res[0][1]
        floor = case.k * case.n * case.d * 4 / FLOOR_BYTES_PER_S
        print("| implementation | time (s) | time / dami auto | same picks as dami auto | picks in common |")
        print("|---|---:|---:|:---:|---:|")
        for name, t, same, common in res:
            print(f"| {name} | {t:.2f} | {t / base:.2f}x | {'yes' if same else 'NO'} | {common:.0%} |")
        print(f"\nBandwidth floor of one brute-force pass per pick: {floor:.2f} s (dami auto = {base / floor:.2f}x floor)\n")
    print(f"Load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
