"""DAMI: picks equal a naive implementation; dedup, the H-dim embedding and streaming are exact."""

from __future__ import annotations

import numpy as np
import pytest

from dami_np import MLPClassifier, query
from dami_np.strategies import DamiRepresentation, dami_select, grouped_kcenter, group_ids, kcenter


# ---------------------------------------------------------------- naive reference
def naive_representation(model, X, *, bias, rows, normalize=False):
    """Per-row Jacobian by explicit np.diag products, float64, one row at a time."""
    A = [np.asarray(W, np.float64).T for W in model.coefs_]  # torch layout (out, in)
    c = [np.asarray(b, np.float64) for b in model.intercepts_]
    reps = []
    for x in np.asarray(X, np.float64):
        M, off, h = np.eye(x.size), np.zeros(x.size), x  # hidden state = M x + off in this region
        for layer in range(len(A) - 1):
            z = A[layer] @ h + c[layer]
            D = np.diag((z > 0).astype(np.float64))
            M = D @ A[layer] @ M
            off = D @ (A[layer] @ off + c[layer])
            h = np.maximum(z, 0)
        W_x = A[-1] @ M
        b_x = A[-1] @ off + c[-1]
        if rows == "predicted":
            k = int(np.argmax(W_x @ x + b_x))
            W_x, b_x = W_x[k : k + 1], b_x[k : k + 1]
        r = np.concatenate([W_x.ravel(), b_x] if bias else [W_x.ravel()])
        if normalize and np.linalg.norm(r) > 0:
            r = r / np.linalg.norm(r)
        reps.append(r)
    return np.array(reps)


def naive_kcenter(points, centers, k):
    """Textbook greedy K-Center: farthest from the nearest center, ties to the lowest index."""
    n = len(points)
    centers = list(np.flatnonzero(centers))
    taken = np.zeros(n, bool)
    taken[centers] = True
    picks = []
    if not centers:
        d = ((points - points.mean(axis=0)) ** 2).sum(axis=1)
        first = int(np.argmax(d))
        picks.append(first)
        taken[first] = True
        centers = [first]
    nearest = np.min([((points - points[c]) ** 2).sum(axis=1) for c in centers], axis=0)
    while len(picks) < k:
        masked = np.where(taken, -np.inf, nearest)
        j = int(np.argmax(masked))
        picks.append(j)
        taken[j] = True
        nearest = np.minimum(nearest, ((points - points[j]) ** 2).sum(axis=1))
    return np.array(picks)


def assert_greedy_kcenter(points, centers, got, rtol=1e-9):
    """``got`` is a greedy K-Center run on ``points`` up to ties in exact arithmetic.

    Local linear maps of different regions differ by sums of per-unit terms, so exact distance
    ties are common (two rows one identical unit flip away from their nearest centers); rounding
    breaks them differently in mathematically equal computations.  Each pick must be a farthest
    row within ``rtol`` (relative to the largest initial distance); the check then continues
    from the actual pick.  A pick that is not (nearly) farthest fails.
    """
    points = np.asarray(points, np.float64)
    taken = np.asarray(centers, bool).copy()
    picks = list(got)
    if not taken.any():
        d = ((points - points.mean(axis=0)) ** 2).sum(axis=1)
        assert d[picks[0]] >= d.max() * (1 - rtol), (picks[0], d[picks[0]], d.max())
        taken[picks[0]] = True
        picks = picks[1:]
    nearest = np.min([((points - points[c]) ** 2).sum(axis=1) for c in np.flatnonzero(taken)], axis=0)
    slack = rtol * max(float(nearest.max()), 1e-300)
    for t, j in enumerate(picks):
        assert not taken[j], f"pick {t} ({j}) is a center or repeated"
        best = np.where(taken, -np.inf, nearest).max()
        assert nearest[j] >= best - slack, f"pick {t}: row {j} at {nearest[j]!r}, farthest is {best!r}"
        if best <= slack:  # all remaining rows at distance 0: the plain run takes them in row order
            zero = np.flatnonzero(~taken & (nearest <= slack))
            assert j == zero[0] or nearest[j] > 0, f"pick {t}: zero-distance tail must go in row order"
        taken[j] = True
        nearest = np.minimum(nearest, ((points - points[j]) ** 2).sum(axis=1))


def make_problem(seed=0, n=160, d=3, hidden=(6,), n_labeled=12, n_classes=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = rng.integers(0, n_classes, size=n)
    labeled = np.zeros(n, bool)
    labeled[rng.choice(n, n_labeled, replace=False)] = True
    model = MLPClassifier(hidden, dtype="float64", max_iter=30, random_state=seed).fit(X[labeled], y[labeled])
    return X, y, labeled, model


def masked(y, labeled):
    out = y.astype(float)
    out[~labeled] = np.nan
    return out


VARIANTS = [
    dict(bias=True, rows="all"),
    dict(bias=False, rows="all"),
    dict(bias=True, rows="predicted"),
    dict(bias=False, rows="predicted"),
    dict(bias=True, rows="all", normalize=True),
]


# ---------------------------------------------------------------- picks equal the naive implementation
@pytest.mark.parametrize("hidden", [(6,), (5, 4)])
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(f"{k}={v[k]}" for k in v))
def test_dami_picks_equal_naive(hidden, variant):
    X, y, labeled, model = make_problem(seed=len(hidden), hidden=hidden)
    budget = 40  # more than the distinct regions: the zero-distance tail is exercised too
    got = query(X, masked(y, labeled), budget, strategy="dami", model=model, **variant)
    assert len(set(got)) == budget and not labeled[got].any()
    assert_greedy_kcenter(naive_representation(model, X, **variant), labeled, got)


@pytest.mark.parametrize("hidden", [(7,), (4, 3)])
@pytest.mark.parametrize("variant", VARIANTS[:3], ids=lambda v: "-".join(f"{k}={v[k]}" for k in v))
def test_dedup_gives_exactly_the_picks_without_dedup(hidden, variant):
    X, y, labeled, model = make_problem(seed=3, n=300, d=4, hidden=hidden)
    for method in ("direct", "auto"):
        plain = dami_select(model, X, labeled, 80, method=method, dedup=False, **variant).positions
        deduped = dami_select(model, X, labeled, 80, method=method, dedup=True, **variant).positions
        np.testing.assert_array_equal(deduped, plain)  # bit for bit, ties included
    assert_greedy_kcenter(naive_representation(model, X, **variant), labeled, deduped)


def test_embedding_and_direct_picks_agree_up_to_exact_ties():
    X, y, labeled, model = make_problem(seed=12, n=500, d=8, hidden=(12,), n_classes=4, n_labeled=30)
    direct = dami_select(model, X, labeled, 40, method="direct").positions
    embedded = dami_select(model, X, labeled, 40, method="embedding").positions
    points = naive_representation(model, X, bias=True, rows="all")
    assert_greedy_kcenter(points, labeled, direct)
    assert_greedy_kcenter(points, labeled, embedded)
    # the first picks are far from any tie: identical
    np.testing.assert_array_equal(embedded[:10], direct[:10])
    np.testing.assert_array_equal(direct[:10], naive_kcenter(points, labeled, 10))


@pytest.mark.parametrize("n_labeled", [12, 40])  # 40: the GEMM-screened initial distances
def test_streamed_kcenter_gives_the_same_picks_as_in_memory(n_labeled):
    X, y, labeled, model = make_problem(seed=4, n=400, d=5, hidden=(4, 3), n_labeled=n_labeled)
    in_memory = dami_select(model, X, labeled, 50).positions
    streamed = dami_select(model, X, labeled, 50, memory_budget=256).positions  # a few rows per chunk fit
    np.testing.assert_array_equal(streamed, in_memory)
    assert_greedy_kcenter(naive_representation(model, X, bias=True, rows="all"), labeled, streamed)


def test_dedup_with_no_labeled_rows_uses_the_farthest_from_mean_rule():
    X, y, labeled, model = make_problem(seed=5, n=200, hidden=(5,))
    none = np.zeros(len(X), bool)
    got = query(X, np.full(len(X), np.nan), 25, strategy="dami", model=model)
    assert_greedy_kcenter(naive_representation(model, X, bias=True, rows="all"), none, got)
    np.testing.assert_array_equal(got, dami_select(model, X, none, 25, dedup=False).positions)


def test_candidates_restrict_the_pool():
    X, y, labeled, model = make_problem(seed=6, n=200, hidden=(6,))
    cand = np.flatnonzero(~labeled)[::3]
    got = dami_select(model, X, labeled, 15, candidates=cand).positions
    rows = np.union1d(np.flatnonzero(labeled), cand)
    assert set(got) <= set(cand)
    points = naive_representation(model, X[rows], bias=True, rows="all")
    assert_greedy_kcenter(points, labeled[rows], np.searchsorted(rows, got))


# ---------------------------------------------------------------- the exact H-dim embedding
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(f"{k}={v[k]}" for k in v))
def test_embedding_distances_and_norms_equal_direct(variant):
    X, y, labeled, model = make_problem(seed=7, n=120, d=6, hidden=(5,), n_classes=4)
    direct = DamiRepresentation(model, X, method="direct", **variant)
    embedded = DamiRepresentation(model, X, method="embedding", **variant)
    rows = np.arange(len(X))
    P, E = direct.points(rows), embedded.points(rows)
    sq = lambda A: ((A[:, None, :] - A[None, :, :]) ** 2).sum(-1)  # noqa: E731
    np.testing.assert_allclose(sq(E), sq(P), rtol=1e-9, atol=1e-10 * sq(P).max())
    np.testing.assert_allclose((E**2).sum(1), (P**2).sum(1), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(P, naive_representation(model, X, **variant), atol=1e-12)


def test_embedding_has_at_most_h_plus_one_dimensions():
    X, y, labeled, model = make_problem(seed=8, n=50, d=10, hidden=(6,), n_classes=5)
    rep = DamiRepresentation(model, X)
    assert rep.method == "embedding" and rep.dim <= 7 < rep.direct_dim == 5 * 11
    assert DamiRepresentation(model, X, method="direct").dim == 55
    _, _, _, deep = make_problem(seed=8, n=50, d=10, hidden=(6, 3))
    with pytest.raises(ValueError, match="one hidden layer"):
        DamiRepresentation(deep, X, method="embedding")


# ---------------------------------------------------------------- grouping is exact
def test_grouped_kcenter_equals_plain_kcenter_with_duplicates_and_ties():
    rng = np.random.default_rng(9)
    base = rng.normal(size=(6, 2))
    group = rng.integers(0, 6, size=80)
    points = base[group]
    centers = np.zeros(80, bool)
    centers[[3, 40]] = True
    for k in (1, 4, 30):
        expected = naive_kcenter(points, centers, k)
        got = grouped_kcenter(group, centers, k, lambda rows: points[rows], 2, memory_budget=1 << 20)[0]
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(kcenter(points, centers, k), expected)


def test_group_ids_split_by_extra_key():
    packed = np.array([[1], [1], [2], [1]], np.uint8)
    ids = group_ids(packed)
    assert ids[0] == ids[1] == ids[3] != ids[2]
    ids = group_ids(packed, extra=np.array([0, 1, 0, 0]))
    assert ids[0] == ids[3] and len({ids[0], ids[1], ids[2]}) == 3


@pytest.mark.parametrize("width", [1, 8, 13, 30])
def test_group_ids_equal_exactly_for_equal_rows(width):
    rng = np.random.default_rng(width)
    distinct = rng.integers(0, 256, size=(50, width), dtype=np.uint8)
    packed = distinct[rng.integers(0, 50, size=2000)]
    packed[::7, -1] ^= 1  # near-duplicates differing in one bit
    ids = group_ids(packed)
    _, exact = np.unique(packed, axis=0, return_inverse=True)
    exact = exact.ravel()
    assert len(set(ids)) == len(set(exact))
    assert len(set(zip(ids, exact))) == len(set(exact))  # a bijection between the two labelings


def test_dami_is_deterministic_and_picks_unlabeled_unique():
    X, y, labeled, model = make_problem(seed=10)
    a = query(X, masked(y, labeled), 20, strategy="dami", model=model, random_state=1)
    b = query(X, masked(y, labeled), 20, strategy="dami", model=model, random_state=2)
    np.testing.assert_array_equal(a, b)
    assert len(set(a)) == 20 and not labeled[a].any()


def test_bad_dami_options_are_rejected():
    X, y, labeled, model = make_problem(seed=11, n=40)
    with pytest.raises(ValueError, match="rows must be one of"):
        query(X, masked(y, labeled), 2, strategy="dami", model=model, rows="top")
    with pytest.raises(ValueError, match="method must be one of"):
        query(X, masked(y, labeled), 2, strategy="dami", model=model, method="fast")
    with pytest.raises(ValueError, match="memory_budget"):
        query(X, masked(y, labeled), 2, strategy="dami", model=model, memory_budget=0)
