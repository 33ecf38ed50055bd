"""Benchmark one DAMI round: dami-np vs PyTorch CPU vs the common NumPy/google-style code.

    python bench/compare_frameworks.py --quick       # smoke run on 10k-row pools (a few minutes)
    python bench/compare_frameworks.py               # default grid around (100k rows, d=50, 10 classes)
    python bench/compare_frameworks.py --full        # every (size, d, classes) combination that fits
    python bench/compare_frameworks.py --sizes 10000 100000 --dims 50 --classes 10
    python bench/compare_frameworks.py --deep        # only the two-hidden-layer rows (64, 64) at 100k and 1M

Stages (each timed on its own): ``train`` = MLP training, seconds per epoch over the whole pool;
``repr`` = local linear models W(x) of every pool row (``dami-np`` = ``local_linear``,
``dami-np-points`` = the DAMI strategy's representation code, ``DamiRepresentation(method="direct",
bias=False).points`` in the model's float32: activation patterns, then the masked products as
GEMMs per batch of rows); ``kcenter`` = greedy K-Center of
``--budget`` picks over the flattened W(x), labeled rows as initial centers (every
implementation gets the same W(x), computed by dami-np); ``round`` = fit on the labeled rows
for ``--round-epochs`` epochs + W(x) for the pool + K-Center. Rounds: ``dami-np`` is the
library's DAMI strategy (``dami_np.strategies.dami_select(bias=False)``, what
``query(strategy="dami", bias=False)`` runs: deduplicated activation patterns and the exact
low-dimensional embedding; its fit/representations/kcenter split is in the notes), ``dami-np-direct``
is ``local_linear`` + ``kernels.kcenter_greedy`` on the flattened W(x); the numpy/google-style
round uses dami-np's (NumPy) MLP fit since scikit-learn is not a dependency, so the three
share one fitted model and must pick the same rows.

Every (config, stage, implementation) runs in a fresh subprocess of this script: it builds its
inputs, warms up on a tiny slice (Numba JIT, torch first-call costs; reported as ``warm-up``),
resets the kernel's peak-RSS counter (``echo 5 > /proc/self/clear_refs``; falls back to
``ru_maxrss`` where not allowed) and reads the current RSS (baseline), runs the stage
``--repeat`` times (the minimum is reported) and reads the peak (``VmHWM``). ``peak`` is the
process's peak RSS during the stage (interpreter, imports and inputs included); ``delta`` is peak
minus baseline, what the stage itself added on top of its inputs. Both count torch's and NumPy's
allocations alike (tracemalloc would miss torch's).

Checks (PASS/FAIL, exit status 1 on any FAIL or crash): every implementation's W(x) equals
dami-np's ``local_linear`` on the whole pool to float32 tolerance (torch models get dami-np's
weights copied in), except on rows with a hidden pre-activation within float32 rounding of 0,
where two implementations may round to adjacent linear regions (such rows are counted in the
report; any other differing row is a FAIL); every K-Center baseline picks the same rows, in the same order, as
``dami_np.kernels.kcenter_greedy`` on the same W(x). torch is optional: without it the torch
rows are skipped and the report says so.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import itertools
import json
import os
import pickle
import platform
import resource
import shlex
import shutil
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _machine import machine_summary  # noqa: E402
RESULTS = HERE / "results"
TMP = RESULTS / "tmp" / "compare_frameworks"
IMPLS: dict[str, tuple[str, ...]] = {
    "train": ("dami-np", "torch"),
    "repr": ("dami-np", "dami-np-points", "torch-closed", "torch-jacrev", "numpy-einsum"),
    "kcenter": ("dami-np", "torch-cdist", "numpy-gemv", "google-style", "numba-prange"),
    "round": ("dami-np", "dami-np-direct", "torch-closed", "torch-jacrev", "numpy-google"),
}
UNITS = {"train": "s/epoch", "repr": "s", "kcenter": "s", "round": "s"}
CENTER = (100_000, 50, 10)
REPR_RTOL = 1e-5  # max |W - W_dami| <= REPR_RTOL * max |W_dami| (float32, different summation orders)


@dataclass(frozen=True)
class Config:
    """One benchmark point; every worker rebuilds the same data from it."""

    n: int
    d: int
    c: int
    hidden: tuple[int, ...] = (100,)
    labeled: int = 1000
    budget: int = 100
    epochs: int = 2
    round_epochs: int = 10
    batch_size: int = 64
    seed: int = 0
    repeat: int = 1
    threads: int = 2
    torch_threads: int = 2

    @property
    def key(self) -> str:
        return f"n{self.n}_d{self.d}_c{self.c}"

    @property
    def label(self) -> str:
        return f"pool {self.n:,}, d={self.d}, C={self.c}"


# ----------------------------------------------------------------------------- data


def make_data(cfg: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X float32 (n, d), y int64 (n,), labeled rows int64 sorted): a noisy linear teacher."""
    rng = np.random.default_rng(cfg.seed)
    teacher = rng.standard_normal((cfg.d, cfg.c)).astype(np.float32) / np.sqrt(cfg.d)
    X = np.empty((cfg.n, cfg.d), np.float32)
    y = np.empty(cfg.n, np.int64)
    for s in range(0, cfg.n, 65536):
        e = min(cfg.n, s + 65536)
        X[s:e] = rng.standard_normal((e - s, cfg.d), dtype=np.float32)
        noise = rng.gumbel(size=(e - s, cfg.c)).astype(np.float32) * 0.3
        y[s:e] = np.argmax(X[s:e] @ teacher + noise, axis=1)
    return X, y, labeled_rows(cfg)


def labeled_rows(cfg: Config) -> np.ndarray:
    """The initially labeled rows (sorted int64), independent of d and C."""
    rows = np.random.default_rng(cfg.seed + 1).choice(cfg.n, min(cfg.labeled, cfg.n), replace=False)
    return np.sort(rows).astype(np.int64)


def _dami_mlp(cfg: Config, epochs: int) -> Any:
    from dami_np import MLPClassifier

    # tol=0 and a huge n_iter_no_change: exactly `epochs` epochs run
    return MLPClassifier(hidden_layer_sizes=cfg.hidden, batch_size=cfg.batch_size, max_iter=epochs, tol=0.0,
                         n_iter_no_change=10**9, random_state=cfg.seed)


def _fit_quiet(clf: Any, X: np.ndarray, y: np.ndarray, n_classes: int) -> Any:
    """Fit with the full label set (a labeled subset may miss classes), warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: we stop after a fixed number of epochs on purpose
        return clf.fit(X, y, classes=np.arange(n_classes))


def _set_threads(n: int, torch_threads: int | None) -> None:
    import dami_np.kernels as kernels

    if hasattr(kernels, "set_num_threads"):
        kernels.set_num_threads(n)
    if torch_threads:
        import _torch_dami

        _torch_dami.set_threads(torch_threads)


def _workdir(cfg: Config) -> Path:
    return TMP / cfg.key


# ----------------------------------------------------------------------------- stages


_Stage = tuple[Callable[[], Any], Callable[[], Any], Callable[[Any], dict]]


def _stage(cfg: Config, stage: str, impl: str) -> _Stage:
    """(warm-up, run, after) callables for one stage; ``after(result)`` returns extra JSON fields."""
    uses_torch = impl.startswith("torch")
    _set_threads(cfg.threads, cfg.torch_threads if uses_torch else None)
    if stage == "kcenter":
        return _kcenter_stage(cfg, impl)
    X, y, labeled = make_data(cfg)
    if stage == "train":
        return _train_stage(cfg, impl, X, y)
    if stage == "repr":
        return _repr_stage(cfg, impl, X)
    return _round_stage(cfg, impl, X, y, labeled)


def _picks(picks: Any) -> dict:
    return {"picks": [int(i) for i in np.asarray(picks)]}


def _kcenter_stage(cfg: Config, impl: str) -> _Stage:
    """Greedy K-Center over dami-np's saved W(x), labeled rows as initial centers."""
    if impl == "dami-np":
        from dami_np.kernels import kcenter_greedy

        fn = lambda p, k, c: kcenter_greedy(p, k, centers=c)  # noqa: E731
    else:
        import _kcenter_baselines as KB

        fn = {"torch-cdist": KB.kcenter_torch_cdist, "numpy-gemv": KB.kcenter_numpy_gemv,
              "google-style": KB.kcenter_google_style, "numba-prange": KB.kcenter_numba_prange}[impl]
    points = np.load(_workdir(cfg) / "repr.npy")
    labeled = labeled_rows(cfg)
    small = np.ascontiguousarray(points[:2048])
    return lambda: fn(small, 5, np.arange(10)), lambda: fn(points, cfg.budget, labeled), _picks


def _train_stage(cfg: Config, impl: str, X: np.ndarray, y: np.ndarray) -> _Stage:
    """``cfg.epochs`` full epochs over the pool (the caller divides by the epochs run)."""
    Xs, ys = X[:512], y[:512]
    if impl == "dami-np":
        return (lambda: _fit_quiet(_dami_mlp(cfg, 1), Xs, ys, cfg.c),
                lambda: _fit_quiet(_dami_mlp(cfg, cfg.epochs), X, y, cfg.c),
                lambda clf: {"epochs_run": int(clf.n_iter_), "loss": float(getattr(clf, "loss_", float("nan")))})
    import _torch_dami as T

    def run() -> float:
        model = T.build_mlp(cfg.d, cfg.hidden, cfg.c, seed=cfg.seed)
        return T.train_epochs(model, X, y, epochs=cfg.epochs, batch_size=cfg.batch_size, seed=cfg.seed)

    return (lambda: T.train_epochs(T.build_mlp(cfg.d, cfg.hidden, cfg.c), Xs, ys, epochs=1), run,
            lambda loss: {"epochs_run": cfg.epochs, "loss": float(loss)})


def _repr_stage(cfg: Config, impl: str, X: np.ndarray) -> _Stage:
    """W(x) of the whole pool from the saved dami-np model; ``after`` compares with dami-np's."""
    import _numpy_reference_round as npref

    with open(_workdir(cfg) / "model.pkl", "rb") as fh:
        clf = pickle.load(fh)
    model = None
    if impl == "dami-np":
        fn = lambda A: clf.local_linear(A)[0]  # noqa: E731
    elif impl == "dami-np-points":
        from dami_np.strategies import DamiRepresentation

        def fn(A: np.ndarray) -> np.ndarray:
            rep = DamiRepresentation(clf, A, method="direct", bias=False)
            return rep.points(np.arange(A.shape[0]), dtype=rep.dtype).reshape(A.shape[0], -1, A.shape[1])
    elif impl == "numpy-einsum":
        fn = lambda A: npref.local_linear_einsum(clf.coefs_, clf.intercepts_, A)  # noqa: E731
    else:
        import _torch_dami as T

        model = T.build_mlp(cfg.d, cfg.hidden, clf.coefs_[-1].shape[1])
        T.load_weights(model, clf.coefs_, clf.intercepts_)
        method = T.local_linear_closed if impl == "torch-closed" else T.local_linear_jacrev
        fn = lambda A: method(model, A)  # noqa: E731

    def after(W: np.ndarray) -> dict:
        ref = np.load(_workdir(cfg) / "repr.npy", mmap_mode="r")
        err, scale = 0.0, float(np.max(np.abs(ref)))
        flat = W.reshape(W.shape[0], -1)
        off = []  # rows whose W(x) differs beyond float32 tolerance
        for s in range(0, cfg.n, 65536):
            a, b = flat[s : s + 65536], np.asarray(ref[s : s + 65536])
            row_err = np.max(np.abs(a - b), axis=1)
            off.extend((s + np.flatnonzero(row_err > REPR_RTOL * max(scale, 1e-30))).tolist())
            err = max(err, float(row_err.max()))
        on_boundary = _on_region_boundary(clf.coefs_, clf.intercepts_, X[np.asarray(off, dtype=np.int64)])
        extra = {"max_abs_err": err, "scale": scale, "shape": list(W.shape), "n_differ": len(off),
                 "n_differ_on_boundary": int(on_boundary.sum())}
        if model is not None:
            import torch

            with torch.no_grad():
                logits = model(torch.from_numpy(X[:4096])).numpy()
            extra["logit_err"] = float(np.max(np.abs(logits - clf.logits(X[:4096]))))
        return extra

    return lambda: fn(X[:256]), lambda: fn(X), after


def _on_region_boundary(coefs: list, intercepts: list, rows: np.ndarray) -> np.ndarray:
    """Rows with a hidden pre-activation within float32 rounding of 0 (bool per row).

    There two float32 implementations may legitimately disagree on the ReLU mask, hence on
    W(x) (both are exact local models of the two adjacent regions; the logits still agree).
    Bound per unit: 4 (fan_in + 2) 2^-24 (sum_i |h_i w_ij| + |b_j|), computed in float64.
    """
    h = np.asarray(rows, dtype=np.float64)
    hit = np.zeros(h.shape[0], dtype=bool)
    for w, b in zip(coefs[:-1], intercepts[:-1]):
        w, b = np.asarray(w, np.float64), np.asarray(b, np.float64)
        z = h @ w + b
        bound = 4.0 * (w.shape[0] + 2) * 2.0**-24 * (np.abs(h) @ np.abs(w) + np.abs(b))
        hit |= (np.abs(z) <= bound).any(axis=1)
        h = np.maximum(z, 0.0)
    return hit


def _round_stage(cfg: Config, impl: str, X: np.ndarray, y: np.ndarray, labeled: np.ndarray) -> _Stage:
    """Fit on the labeled rows, W(x) for the pool, K-Center with the labeled rows as centers."""
    XL, yL = X[labeled], y[labeled]
    split: dict[str, float] = {}  # dami-np: the strategy's own fit/representations/kcenter split

    def run_dami(A: np.ndarray, k: int, lab: np.ndarray) -> np.ndarray:
        from dami_np.strategies import dami_select

        t0 = time.perf_counter()
        clf = _fit_quiet(_dami_mlp(cfg, cfg.round_epochs), XL, yL, cfg.c)
        split.clear()
        split["fit"] = time.perf_counter() - t0
        mask = np.zeros(A.shape[0], dtype=bool)
        mask[lab] = True
        return dami_select(clf, A, mask, k, bias=False, timings=split).positions  # what query(strategy="dami") runs

    def run_direct(A: np.ndarray, k: int, lab: np.ndarray) -> np.ndarray:
        from dami_np.kernels import kcenter_greedy

        clf = _fit_quiet(_dami_mlp(cfg, cfg.round_epochs), XL, yL, cfg.c)
        return kcenter_greedy(clf.local_linear(A)[0].reshape(A.shape[0], -1), k, centers=lab)

    def run_google(A: np.ndarray, k: int, lab: np.ndarray) -> np.ndarray:
        import _kcenter_baselines as KB
        import _numpy_reference_round as npref

        clf = _fit_quiet(_dami_mlp(cfg, cfg.round_epochs), XL, yL, cfg.c)
        W = npref.local_linear_einsum(clf.coefs_, clf.intercepts_, A)
        return KB.kcenter_google_style(W.reshape(A.shape[0], -1), k, lab)

    def run_torch(A: np.ndarray, k: int, lab: np.ndarray) -> np.ndarray:
        import _kcenter_baselines as KB
        import _torch_dami as T

        model = T.build_mlp(cfg.d, cfg.hidden, cfg.c, seed=cfg.seed)
        T.train_epochs(model, XL, yL, epochs=cfg.round_epochs, batch_size=cfg.batch_size, seed=cfg.seed)
        W = (T.local_linear_closed if impl == "torch-closed" else T.local_linear_jacrev)(model, A)
        return KB.kcenter_torch_cdist(W.reshape(A.shape[0], -1), k, lab)

    run = {"dami-np": run_dami, "dami-np-direct": run_direct, "numpy-google": run_google}.get(impl, run_torch)

    def after(picks: np.ndarray) -> dict:
        if not split:
            return _picks(picks)
        note = "last run: " + ", ".join(f"{name} {sec:.3f} s" for name, sec in split.items())
        return {**_picks(picks), "split": dict(split), "note": note}

    lab_small = labeled[labeled < 2048][:10]
    return lambda: run(X[:2048], 5, lab_small), lambda: run(X, cfg.budget, labeled), after


def _prepare(cfg: Config) -> dict:
    """Fit dami-np on the labeled rows, save the model and its W(x) (the shared K-Center input)."""
    _set_threads(cfg.threads, None)
    X, y, labeled = make_data(cfg)
    clf = _fit_quiet(_dami_mlp(cfg, cfg.round_epochs), X[labeled], y[labeled], cfg.c)
    work = _workdir(cfg)
    work.mkdir(parents=True, exist_ok=True)
    with open(work / "model.pkl", "wb") as fh:
        pickle.dump(clf, fh)
    W = clf.local_linear(X)[0]
    np.save(work / "repr.npy", W.reshape(cfg.n, -1))
    return {"repr_shape": list(W.shape), "n_outputs": int(clf.coefs_[-1].shape[1])}


def _status_kb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    raise KeyError(field)


def _reset_peak() -> tuple[float, str]:
    """Reset the peak-RSS counter if the kernel allows it; return (current RSS MB, method)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux >= 4.0: VmHWM := VmRSS
        return _status_kb("VmRSS") / 1024.0, "VmHWM reset"
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, "ru_maxrss"


def _peak_mb(method: str) -> float:
    if method == "VmHWM reset":
        return _status_kb("VmHWM") / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _worker(spec: dict) -> dict:
    """Run one (config, stage, impl) in this process and return its measurements."""
    cfg = Config(**{**spec["cfg"], "hidden": tuple(spec["cfg"]["hidden"])})
    if spec["stage"] == "prep":
        return _prepare(cfg)
    warm, run, after = _stage(cfg, spec["stage"], spec["impl"])
    t0 = time.perf_counter()
    warm()
    warm_s = time.perf_counter() - t0
    base, method = _reset_peak()
    times, out = [], None
    for _ in range(cfg.repeat):
        out = None
        t0 = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t0)
    peak = _peak_mb(method)
    extra = after(out)
    seconds = min(times)
    if spec["stage"] == "train":
        seconds /= max(1, extra["epochs_run"])
    return {"seconds": seconds, "all_seconds": times, "warmup_s": warm_s, "rss_base_mb": base,
            "rss_peak_mb": peak, "rss_delta_mb": max(0.0, peak - base), "rss_method": method, **extra}


# ----------------------------------------------------------------------------- parent


def _cpu_busy_s() -> float:
    """Busy CPU seconds of the whole machine so far (all processes), from /proc/stat."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return float("nan")
    busy = fields[0] + fields[1] + fields[2] + sum(fields[5:8])  # user nice system irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def _run_worker(spec: dict, timeout: float) -> dict:
    """Run ``_worker(spec)`` in a fresh interpreter; adds ``status`` and foreign CPU load."""
    env = {**os.environ, "OMP_NUM_THREADS": str(spec["cfg"]["threads"]),
           "OPENBLAS_NUM_THREADS": str(spec["cfg"]["threads"]), "MKL_NUM_THREADS": str(spec["cfg"]["threads"]),
           "NUMBA_NUM_THREADS": str(spec["cfg"]["threads"])}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_worker", json.dumps(spec)]
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, wall0 = _cpu_busy_s(), time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=HERE)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "note": f"killed after {timeout:.0f} s"}
    wall = time.perf_counter() - wall0
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (after_children.ru_utime - before_children.ru_utime) + (after_children.ru_stime - before_children.ru_stime)
    foreign = max(0.0, (_cpu_busy_s() - busy0) - own) / max(wall, 1e-9)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        return {"status": "error", "note": tail[:200], "stderr": proc.stderr[-4000:], "other_load": foreign}
    return {"status": "ok", **json.loads(lines[-1][len("RESULT "):]), "other_load": foreign}


def _estimate_bytes(cfg: Config, stage: str, impl: str) -> int:
    """Rough peak bytes of a stage (inputs + outputs + chunk temporaries) for the fit/skip decision."""
    x = cfg.n * cfg.d * 4
    w = cfg.n * cfg.c * cfg.d * 4
    if stage == "train":
        return 3 * x + (400 << 20)
    google = cfg.n * cfg.labeled * 8 if impl in ("google-style", "numpy-google") else 0  # (n, centers) float64
    if stage == "kcenter":
        # numpy-gemv's near-zero fix-up broadcasts (rows, centers, D) float64 over the ~half of the
        # centers whose expanded self-distance rounds to <= 0 (measured: 251 of 500 at 10k rows)
        gemv = int(0.6 * cfg.labeled * cfg.labeled * cfg.c * cfg.d * 8) if impl == "numpy-gemv" else 0
        return 2 * w + google + gemv + (400 << 20)
    if stage in ("repr", "prep"):
        return x + 2 * w + (600 << 20)  # output + reference compare (mmap) / np.save buffers
    return x + 2 * w + google + (600 << 20)  # round: W and the flattened points alias; K-Center temporaries


def _mem_available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 8 << 30


def _available_impls(skip_torch: bool = False) -> tuple[dict[tuple[str, str], str], list[str]]:
    """Map (stage, impl) -> reason it cannot run here, plus notes for the report."""
    missing: dict[tuple[str, str], str] = {}
    notes = []
    torch_reason = "--skip-torch" if skip_torch else None
    if not skip_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            torch_reason = "torch not installed (pip install .[bench])"
    if torch_reason:
        missing.update({(s, i): torch_reason for s, impls in IMPLS.items() for i in impls if i.startswith("torch")})
        notes.append(f"{torch_reason}: every torch row (training, W(x) by closed form and by vmap(jacrev), "
                     "K-Center by torch.cdist, torch rounds) was skipped.")
    sys.path.insert(0, str(HERE))
    try:
        import _kcenter_baselines  # noqa: F401
    except ImportError as error:
        for stage in ("kcenter", "round"):
            for impl in IMPLS[stage]:
                if not impl.startswith("dami-np"):
                    missing.setdefault((stage, impl), f"bench/_kcenter_baselines.py not importable ({error})")
        notes.append("bench/_kcenter_baselines.py is missing: K-Center baselines and non-dami-np rounds skipped.")
    return missing, notes


def _versions() -> str:
    import numba

    parts = [f"Python {platform.python_version()}", f"numpy {np.__version__}", f"numba {numba.__version__}"]
    try:
        import torch

        parts.append(f"torch {torch.__version__}")
    except ImportError:
        parts.append("torch not installed")
    import dami_np

    parts.append(f"dami-np {dami_np.__version__}")
    return ", ".join(parts)


def _grid(args: argparse.Namespace) -> list[tuple[int, int, int]]:
    sizes = args.sizes or ([10_000] if args.quick else [10_000, 100_000, 1_000_000])
    dims = args.dims or [16, 50, 200]
    classes = args.classes or [2, 10, 26]
    if args.quick and not (args.sizes or args.dims or args.classes):
        return [(10_000, 50, 10), (10_000, 16, 2), (10_000, 200, 26)]
    if args.full:
        return list(itertools.product(sizes, dims, classes))
    n0 = CENTER[0] if CENTER[0] in sizes else sizes[len(sizes) // 2]
    d0 = CENTER[1] if CENTER[1] in dims else dims[len(dims) // 2]
    c0 = CENTER[2] if CENTER[2] in classes else classes[len(classes) // 2]
    points = [(n, d0, c0) for n in sizes] + [(n0, d, c0) for d in dims] + [(n0, d0, c) for c in classes]
    return list(dict.fromkeys(points))  # one-at-a-time around the center, no duplicates


def _fmt_s(x: float) -> str:
    return f"{x:.4f}" if x < 0.1 else f"{x:.3f}" if x < 10 else f"{x:.1f}"


def _config_table(cfg: Config, rows: dict[tuple[str, str], dict]) -> list[str]:
    out = ["| stage | implementation | time | dami-np / other | speedup (other / dami-np) | peak RSS MB | "
           "delta RSS MB | warm-up s | other load (cores) | notes |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for stage, impls in IMPLS.items():
        ref = rows.get((stage, "dami-np"), {})
        for impl in impls:
            r = rows.get((stage, impl), {"status": "skipped", "note": "not run"})
            if r["status"] != "ok":
                out.append(f"| {stage} | {impl} | {r['status']} | | | | | | | {r.get('note', '')} |")
                continue
            ratio = speed = ""
            if ref.get("status") == "ok" and impl != "dami-np":
                ratio = f"{ref['seconds'] / r['seconds']:.3f}"
                speed = f"{r['seconds'] / ref['seconds']:.2f}x"
            note = r.get("note", "")
            if stage == "train":
                note = f"loss after {r['epochs_run']} epochs {r['loss']:.4f}"
            out.append(f"| {stage} | {impl} | {_fmt_s(r['seconds'])} {UNITS[stage]} | {ratio} | {speed} | "
                       f"{r['rss_peak_mb']:.0f} | {r['rss_delta_mb']:.0f} | {r['warmup_s']:.2f} | "
                       f"{r.get('other_load', float('nan')):.2f} | {note} |")
    return out


def _checks(cfg: Config, rows: dict[tuple[str, str], dict]) -> list[tuple[str, bool, str]]:
    """(name, passed, detail) for the agreement checks that could run on this config."""
    found = []
    for impl in IMPLS["repr"][1:]:
        r = rows.get(("repr", impl))
        if r and r["status"] == "ok":
            n_differ, n_boundary = r.get("n_differ", 0), r.get("n_differ_on_boundary", 0)
            ok = n_differ == n_boundary  # every differing row sits on a linear-region boundary
            detail = f"max |dW| = {r['max_abs_err']:.2e} (max |W| = {r['scale']:.2e})"
            if n_differ:
                detail += (f"; {n_differ} of {cfg.n:,} rows differ beyond {REPR_RTOL:g} x max |W|, "
                           f"{n_boundary} of them with a pre-activation within float32 rounding of 0 "
                           "(the two implementations round to adjacent regions there)")
            if "logit_err" in r:
                detail += f", logits max err {r['logit_err']:.2e}"
            found.append((f"{cfg.label}: W(x) {impl} == dami-np local_linear", ok, detail))
    ref = rows.get(("kcenter", "dami-np"))
    for impl in IMPLS["kcenter"][1:]:
        r = rows.get(("kcenter", impl))
        if ref and r and ref["status"] == r["status"] == "ok":
            found.append((f"{cfg.label}: K-Center picks {impl} == dami-np kcenter_greedy",
                          *_same_picks(ref["picks"], r["picks"])))
    ref = rows.get(("round", "dami-np"))
    for impl in ("dami-np-direct", "numpy-google"):  # same dami-np fit (same seed): same picks expected
        r = rows.get(("round", impl))
        if ref and r and ref["status"] == r["status"] == "ok":
            found.append((f"{cfg.label}: round picks {impl} == dami-np dami_select (same fitted model)",
                          *_same_picks(ref["picks"], r["picks"])))
    for stage in IMPLS:
        for impl in IMPLS[stage]:
            r = rows.get((stage, impl))
            if r and r["status"] == "error":
                found.append((f"{cfg.label}: {stage}/{impl} ran", False, r.get("note", "")))
    return found


def _same_picks(a: list[int], b: list[int]) -> tuple[bool, str]:
    """(identical, detail) for two pick sequences."""
    if a == b:
        return True, f"{len(a)} picks identical"
    first = next((i for i, (u, v) in enumerate(zip(a, b)) if u != v), None)
    if first is None:
        return False, f"lengths {len(a)} vs {len(b)}"
    return False, (f"first difference at pick {first} ({a[first]} vs {b[first]}); "
                   f"{len(set(a) & set(b))}/{len(a)} rows shared")


def _met(speedup: float, target: float) -> str:
    return "yes" if speedup >= target else f"no (short by {target / speedup:.2f}x)"


def _goals(results: dict[Config, dict]) -> list[str]:
    """Goal lines from the measured configs (round at 100k rows; train and K-Center everywhere;
    with more than one hidden layer the round at every size, >= 10x)."""
    out = ["| goal | config | measured | target | met |", "|---|---|---|---|---|"]

    def speedup(rows: dict, stage: str, impl: str) -> float | None:
        a, b = rows.get((stage, "dami-np")), rows.get((stage, impl))
        if a and b and a["status"] == b["status"] == "ok":
            return b["seconds"] / a["seconds"]
        return None

    for cfg, rows in results.items():
        checks = []
        if len(cfg.hidden) > 1:
            checks += [(f"round >= 10x faster than PyTorch CPU ({impl}), hidden {list(cfg.hidden)}", "round", impl, 10.0)
                       for impl in ("torch-closed", "torch-jacrev")]
        elif cfg.n == 100_000:
            checks += [("round >= 5x faster than PyTorch CPU (" + impl + ")", "round", impl, 5.0)
                       for impl in ("torch-closed", "torch-jacrev")]
        checks += [("MLP training no slower than PyTorch CPU", "train", "torch", 1.0),
                   ("K-Center >= 10x faster than torch.cdist per pick (kernel, same flattened W(x))",
                    "kcenter", "torch-cdist", 10.0)]
        for name, stage, impl, target in checks:
            s = speedup(rows, stage, impl)
            if s is None:
                continue
            out.append(f"| {name} | {cfg.label} | {s:.2f}x | >= {target:g}x | {_met(s, target)} |")
        strategy, torch_kc = rows.get(("round", "dami-np"), {}), rows.get(("kcenter", "torch-cdist"), {})
        if "split" in strategy and torch_kc.get("status") == "ok" and strategy["split"].get("kcenter"):
            s = torch_kc["seconds"] / strategy["split"]["kcenter"]
            name = ("K-Center >= 10x faster than torch.cdist per pick (dami-np strategy's own K-Center: "
                    "dedup + exact embedding when smaller; same picks)")
            out.append(f"| {name} | {cfg.label} | {s:.2f}x | >= 10x | {_met(s, 10.0)} |")
    if len(out) == 2:
        out.append("| (none evaluable: every goal compares against a torch row or a 100k-row pool) | | | | |")
    return out


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10k-row pools, 1 epoch, small budget (smoke run)")
    parser.add_argument("--full", action="store_true", help="Cartesian grid of sizes x dims x classes")
    parser.add_argument("--sizes", type=int, nargs="+", help="pool sizes (default 10000 100000 1000000)")
    parser.add_argument("--dims", type=int, nargs="+", help="feature counts d (default 16 50 200)")
    parser.add_argument("--classes", type=int, nargs="+", help="class counts C (default 2 10 26)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[100], help="hidden layer sizes (default 100)")
    parser.add_argument("--labeled", type=int, help="labeled rows = initial K-Center centers (default 1000)")
    parser.add_argument("--budget", type=int, help="K-Center picks per round (default 100)")
    parser.add_argument("--epochs", type=int, help="epochs timed in the train stage (default 2)")
    parser.add_argument("--round-epochs", type=int, help="epochs of the round's fit on the labeled rows (default 10)")
    parser.add_argument("--repeat", type=int, help="runs per stage, min reported (default 3; 1 above 100k rows)")
    parser.add_argument("--threads", type=int, default=2, help="dami-np/Numba/BLAS threads")
    parser.add_argument("--torch-threads", type=int, help="torch.set_num_threads (default: --threads)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per stage subprocess")
    parser.add_argument("--mem-gb", type=float, help="skip stages estimated above this (default 0.7 x MemAvailable)")
    parser.add_argument("--stages", nargs="+", choices=list(IMPLS), default=list(IMPLS))
    parser.add_argument("--skip-torch", action="store_true", help="behave as if torch were not installed")
    parser.add_argument("--keep-tmp", action="store_true", help=f"keep the shared model/W(x) files under {TMP}")
    parser.add_argument("--out", type=Path, default=RESULTS / "performance.md")
    parser.add_argument("--skip", nargs="+", default=[], metavar="STAGE:IMPL",
                        help="rows not to run, e.g. round:torch-jacrev (reported as skipped)")
    parser.add_argument("--deep", action="store_true",
                        help="only the two-hidden-layer rows: hidden 64 64, pools 100k and 1M, d=50, C=10, stages "
                             "repr and round, dami-np and torch implementations (default --out performance-deep.md)")
    parser.add_argument("--_worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.deep and not args._worker:
        args.hidden = args.hidden if args.hidden != [100] else [64, 64]
        args.sizes = args.sizes or [100_000, 1_000_000]
        args.dims, args.classes = args.dims or [50], args.classes or [10]
        if args.stages == list(IMPLS):
            args.stages = ["repr", "round"]
        if args.out == RESULTS / "performance.md":
            args.out = RESULTS / "performance-deep.md"
        IMPLS["repr"] = ("dami-np", "dami-np-points", "torch-closed", "torch-jacrev")
        IMPLS["round"] = ("dami-np", "dami-np-direct", "torch-closed", "torch-jacrev")

    sys.path.insert(0, str(HERE))
    if args._worker:
        print("RESULT " + json.dumps(_worker(json.loads(args._worker))), flush=True)
        return 0

    quick = args.quick
    defaults = dict(labeled=500 if quick else 1000, budget=50 if quick else 100, epochs=1 if quick else 2,
                    round_epochs=5 if quick else 10)
    missing, notes = _available_impls(args.skip_torch)
    budget_bytes = int((args.mem_gb * 2**30) if args.mem_gb else 0.7 * _mem_available())
    started = _dt.datetime.now().astimezone()
    load_start, busy0, wall0 = _loadavg(), _cpu_busy_s(), time.perf_counter()
    print(f"machine: {machine_summary()}\nversions: {_versions()}\nload average at start: {load_start}", flush=True)

    results: dict[Config, dict[tuple[str, str], dict]] = {}
    skipped: list[str] = []
    for n, d, c in _grid(args):
        repeat = args.repeat or (1 if n > 100_000 else 3)
        cfg = Config(n=n, d=d, c=c, hidden=tuple(args.hidden), threads=args.threads,
                     torch_threads=args.torch_threads or args.threads, repeat=repeat,
                     **{k: getattr(args, k) if getattr(args, k) is not None else v for k, v in defaults.items()})
        rows: dict[tuple[str, str], dict] = {}
        results[cfg] = rows
        print(f"\n== {cfg.label} (labeled {cfg.labeled}, budget {cfg.budget}, repeat {cfg.repeat})", flush=True)
        spec = {"cfg": {**asdict(cfg), "hidden": list(cfg.hidden)}}
        needs_prep = any(s in args.stages for s in ("repr", "kcenter"))
        prep_ok = True
        if needs_prep:
            need = _estimate_bytes(cfg, "prep", "dami-np")
            if need > budget_bytes:
                prep_ok = False
                skipped.append(f"{cfg.label}: W(x) needs ~{need / 2**30:.1f} GiB > budget "
                               f"{budget_bytes / 2**30:.1f} GiB: repr and kcenter skipped")
            else:
                r = _run_worker({**spec, "stage": "prep", "impl": "dami-np"}, args.timeout)
                prep_ok = r["status"] == "ok"
                if not prep_ok:
                    print(f"  prep failed: {r.get('note')}\n{r.get('stderr', '')}", flush=True)
        for stage in args.stages:
            for impl in IMPLS[stage]:
                need = _estimate_bytes(cfg, stage, impl)
                if f"{stage}:{impl}" in args.skip:
                    rows[(stage, impl)] = {"status": "skipped", "note": "--skip"}
                    skipped.append(f"{cfg.label}: {stage}/{impl} (--skip)")
                elif (stage, impl) in missing:
                    rows[(stage, impl)] = {"status": "skipped", "note": missing[(stage, impl)]}
                elif stage in ("repr", "kcenter") and not prep_ok:
                    rows[(stage, impl)] = {"status": "skipped", "note": "shared W(x) not prepared (memory/prep failure)"}
                elif need > budget_bytes:
                    rows[(stage, impl)] = {"status": "skipped",
                                           "note": f"needs ~{need / 2**30:.1f} GiB > {budget_bytes / 2**30:.1f} GiB"}
                    skipped.append(f"{cfg.label}: {stage}/{impl} (needs ~{need / 2**30:.1f} GiB)")
                else:
                    rows[(stage, impl)] = _run_worker({**spec, "stage": stage, "impl": impl}, args.timeout)
                    if rows[(stage, impl)]["status"] == "timeout":
                        skipped.append(f"{cfg.label}: {stage}/{impl} timed out after {args.timeout:.0f} s")
                r = rows[(stage, impl)]
                shown = f"{_fmt_s(r['seconds'])} {UNITS[stage]}  peak {r['rss_peak_mb']:.0f} MB" if r["status"] == "ok" \
                    else f"{r['status']}: {r.get('note', '')}"
                print(f"  {stage:8s} {impl:14s} {shown}", flush=True)
                if r["status"] == "error":
                    print(r.get("stderr", ""), file=sys.stderr, flush=True)
        if not args.keep_tmp:
            shutil.rmtree(_workdir(cfg), ignore_errors=True)  # W(x) of a 1M-row pool is GBs

    wall = time.perf_counter() - wall0
    foreign = max(0.0, _cpu_busy_s() - busy0 - _children_cpu()) / wall
    checks = [chk for cfg, rows in results.items() for chk in _checks(cfg, rows)]
    report = _report(args, argv, results, checks, skipped, notes, started, load_start, foreign, wall)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print("\n" + report)
    print(f"written to {args.out}")
    return 1 if any(not ok for _, ok, _ in checks) else 0


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _report(args: argparse.Namespace, argv: list[str] | None, results: dict, checks: list, skipped: list[str],
            notes: list[str], started: _dt.datetime, load_start: str, foreign: float, wall: float) -> str:
    argv = sys.argv[1:] if argv is None else argv
    command = "python bench/compare_frameworks.py" + ("" if not argv else " " + shlex.join(argv))
    first = next(iter(results), None)
    lines = [
        "# dami-np vs PyTorch CPU vs NumPy/google-style: one DAMI round",
        "",
        f"Command: `{command}`  ",
        f"Date: {started:%Y-%m-%d %H:%M %Z} ({wall / 60:.1f} min)  ",
        f"Machine: {machine_summary()}  ",
        f"Versions: {_versions()}  ",
        f"Threads: {args.threads} (dami_np.kernels.set_num_threads, OMP/BLAS/Numba env), torch.set_num_threads("
        f"{args.torch_threads or args.threads})  ",
        f"Contention: load average {load_start} at start, {_loadavg()} at end; other processes used "
        f"{foreign:.2f} cores on average during the run (machine busy time from /proc/stat minus this bench's).",
        "",
    ]
    if first is not None:
        lines += [f"MLP hidden layers {list(first.hidden)}, batch {first.batch_size}, Adam lr 1e-3, alpha 1e-4; "
                  f"labeled rows (initial centers) {first.labeled}; K-Center budget {first.budget} picks; "
                  f"train stage {first.epochs} epoch(s) over the whole pool; round fit {first.round_epochs} epochs "
                  "on the labeled rows. Times are the minimum over the repeats (per config below).", ""]
    methods = sorted({r.get("rss_method") for rows in results.values() for r in rows.values() if r.get("rss_method")})
    lines += [f"Peak-RSS method used: {', '.join(methods) or 'n/a'}.", ""]
    lines += ["How to read: `time` is wall seconds (train: per epoch). `dami-np / other` < 1 means dami-np is "
              "faster; `speedup` is its inverse. `peak RSS` is the stage subprocess's peak resident memory "
              "during the stage (interpreter, imports and inputs included); `delta RSS` is what the stage added above "
              "its inputs (peak-RSS counter reset via /proc/self/clear_refs before the stage, VmHWM after, minus "
              "the RSS before; fresh process per row). `warm-up` is the first call on a tiny "
              "slice (Numba JIT / torch first-call), excluded from `time`. `other load` is CPU used by other "
              "processes while that row ran (2 cores total): above ~0.2 the row is noisy.", ""]
    lines += ["## Goals", ""] + _goals(results) + [""]
    lines += ["## Checks", ""] + [f"- {'PASS' if ok else 'FAIL'}: {name} ({detail})" for name, ok, detail in checks]
    if not checks:
        lines.append("- (no check could run)")
    lines.append("")
    if skipped or notes:
        lines += ["## Skipped", ""] + [f"- {s}" for s in notes + skipped] + [""]
    lines += ["## Results", ""]
    for cfg, rows in results.items():
        lines += [f"### {cfg.label} (repeat {cfg.repeat})", ""] + _config_table(cfg, rows) + [""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
