"""A round on a Dask cluster gives the picks (and report) of the same round on one machine.

A LocalCluster of 2 worker processes (1 thread each); a 20,000-row table in 7 uneven Parquet
files (one empty, one holding every labeled row), with duplicate rows (ties in every score and
distance), missing values, a categorical and a bool column.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

import dami_np  # noqa: E402
from dami_np import kernels  # noqa: E402
from dami_np._dask import DaskRoundError  # noqa: E402
from dami_np._dask import _round  # noqa: E402
from dami_np._dask._remote_blocks import Block, KCenterStats, distributed_kcenter  # noqa: E402

SIZES = [3000, 0, 7000, 500, 4000, 100, 5400]
STRATEGIES = ["random", "margin", "entropy", "least_confidence", "kcenter_input", "coreset", "dami", "dami_margin"]


def _table(n: int = 20000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5)) @ rng.standard_normal((5, 5))
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    df["f1"] = df["f1"].where(rng.random(n) > 0.05)
    df["count"] = rng.integers(0, 7, n)
    df["color"] = pd.Categorical(rng.choice(["red", "green", "blue"], n))
    df["flag"] = rng.random(n) > 0.5
    df.iloc[5000:5200] = df.iloc[100:300].to_numpy()  # duplicates: ties everywhere
    df.iloc[12000:12050, :4] = 0.0
    y = np.where(df["f0"] + 0.5 * df["f2"] > 0.3, "a", np.where(df["f3"] > 0, "b", "c")).astype(object)
    labeled = np.zeros(n, dtype=bool)
    labeled[rng.choice(np.arange(3000, 10000), 90, replace=False)] = True  # all in the third file
    labeled[5000:5003] = True  # labeled duplicates of unlabeled rows
    df["label"] = pd.Series(np.where(labeled, y, None), dtype=object)
    return df


@pytest.fixture(scope="module")
def parquet_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("pool")
    df = _table()
    start = 0
    for i, size in enumerate(SIZES):
        df.iloc[start : start + size].to_parquet(path / f"part-{i}.parquet")
        start += size
    return str(path)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        with distributed.Client(c) as client:
            yield c, client


@pytest.fixture(scope="module")
def frames(parquet_dir: str, cluster):
    ddf = dd.read_parquet(parquet_dir)
    assert ddf.npartitions == len(SIZES)
    local = ddf.compute().reset_index(drop=True)
    return ddf, local.drop(columns=["label"]), local["label"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_same_picks_as_local(frames, strategy: str) -> None:
    ddf, X, y = frames
    local = dami_np.query(X, y, 40, strategy=strategy, random_state=7)
    remote = dami_np.query(ddf, "label", 40, strategy=strategy, random_state=7, block_rows=1500)
    assert remote.dtype == np.int64
    np.testing.assert_array_equal(remote, local)


@pytest.mark.parametrize("strategy", ["margin", "dami", "coreset", "random"])
def test_same_report_as_local(frames, strategy: str) -> None:
    ddf, X, y = frames
    local = dami_np.select(X, y, 15, strategy=strategy, random_state=3)
    remote = dami_np.select(ddf, "label", 15, strategy=strategy, random_state=3, block_rows=4000)
    pd.testing.assert_frame_equal(remote, local, check_exact=True)
    assert remote.attrs == local.attrs


def test_y_as_dask_series_and_budget_past_the_distinct_rows(frames) -> None:
    ddf, X, y = frames
    # a budget large enough to reach the rows at distance 0 (duplicates): the fill in row order
    features, labels = ddf.drop(columns=["label"]), ddf["label"]
    local = dami_np.query(X, y, 60, strategy="dami", random_state=1)
    np.testing.assert_array_equal(dami_np.query(features, labels, 60, strategy="dami", random_state=1), local)


def test_cold_start_one_class(frames) -> None:
    ddf, X, y = frames
    one = y.where(y == "a")  # only one class labeled: cold start (K-Center on the inputs)
    dy = ddf["label"].where(ddf["label"] == "a")
    local = dami_np.query(X, one, 25, strategy="dami", random_state=0)
    np.testing.assert_array_equal(dami_np.query(ddf.drop(columns=["label"]), dy, 25, strategy="dami", random_state=0), local)


def test_preprocessing_same_numbers(frames, cluster) -> None:
    from dami_np._preprocess import TabularPreprocessor
    from dami_np._dask._partitions import load_table

    ddf, X, y = frames
    _, client = cluster
    table = load_table(client, ddf, "label", preprocess=True)
    local = TabularPreprocessor().fit(X)
    assert table.feature_names == local.feature_names_out_
    assert table.preprocessor.source_columns_ == local.source_columns_
    matrix = np.concatenate(client.gather(table.parts), axis=0)
    np.testing.assert_array_equal(matrix, local.transform(X))  # so every median, mean, scale and level agrees
    np.testing.assert_array_equal(table.labeled_rows, np.flatnonzero(y.notna().to_numpy()))
    assert [p.result().shape[0] for p in table.parts] == SIZES


class _GatherSpy:
    """A client that records what every ``gather`` brings to the driver."""

    def __init__(self, client) -> None:
        self._client, self.values_seen = client, 0

    def __getattr__(self, name):
        return getattr(self._client, name)

    def gather(self, futures, *args, **kwargs):
        out = self._client.gather(futures, *args, **kwargs)
        for item in out if isinstance(out, list) else [out]:
            for piece in item if isinstance(item, (list, tuple)) else [item]:
                if isinstance(piece, pd.Series):
                    self.values_seen += len(piece)
        return out


def test_preprocessing_fits_on_the_workers(frames, cluster) -> None:
    """No column travels to the driver while the preprocessor is fitted (only the fitted specs),
    and the numbers are still the local ones."""
    from dami_np._preprocess import TabularPreprocessor
    from dami_np._dask._partitions import load_table

    ddf, X, y = frames
    _, client = cluster
    spy = _GatherSpy(client)
    table = load_table(spy, ddf, "label", preprocess=True)
    assert spy.values_seen < 1000  # the labels of the labeled rows (93), not a 20,000-row column
    np.testing.assert_array_equal(np.concatenate(client.gather(table.parts), axis=0), TabularPreprocessor().fit_transform(X))


def test_preprocessing_problems_and_warnings_reach_the_driver(cluster) -> None:
    from dami_np._preprocess import ColumnWarning, UnusableColumnsError
    from dami_np._dask._partitions import load_table

    _, client = cluster
    n = 400
    frame = pd.DataFrame({"x": np.arange(n, dtype=np.float64), "when": ["03/04/2024", "05/06/2024"] * (n // 2),
                          "label": pd.Series(["a", "b"] + [None] * (n - 2), dtype=object)})
    with pytest.warns(ColumnWarning, match="when"):  # day/month order undecided: left out, with a warning
        table = load_table(client, dd.from_pandas(frame, npartitions=3), "label", preprocess=True)
    assert table.feature_names == ["x"]
    bad = frame.drop(columns=["when"]).assign(x=frame["x"].astype(object).where(frame.index != 250, "oops"))
    with pytest.raises(UnusableColumnsError, match=r"'oops' at row 250"):
        load_table(client, dd.from_pandas(bad, npartitions=3), "label", preprocess=True)


@pytest.mark.parametrize("n_centers,k", [(5, 80), (700, 300)])
def test_distributed_kcenter_equals_kernel(cluster, n_centers: int, k: int) -> None:
    """Ties and duplicates, tiny answers (many round trips), few or many initial centers (more
    than 512: a subset bounds the rows first): the kernel's picks and radii, bit for bit;
    k past the distinct values: the zero-distance fill in row order."""
    _, client = cluster
    rng = np.random.default_rng(5)
    pts = rng.integers(0, 4 if n_centers < 100 else 12, size=(3000, 3)).astype(np.float64)  # exact ties, duplicates
    pts[1000:1100] = pts[:100]
    centers = np.zeros(3000, dtype=bool)
    centers[rng.choice(3000, n_centers, replace=False)] = True
    want, want_r = kernels.kcenter_greedy(pts, k, centers=centers, return_radii=True)
    cuts = [0, 1, 700, 700, 1800, 3000]
    blocks = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        [f] = client.scatter([pts[a:b]], hash=False)
        blocks.append(Block((a, b), f, np.flatnonzero(centers[a:b])))
    stats = KCenterStats()
    got, got_r = distributed_kcenter(client, blocks, pts[centers], k, first_m=2, stats=stats)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_r, want_r)
    assert stats.round_trips > 2  # the bounds were really used


@pytest.mark.parametrize("d", [1, 3, 32, 42, 70])
def test_driver_distance_formula_is_the_kernels(d: int) -> None:
    from dami_np.strategies._kcenter_blocks import sq_dists_to

    rng = np.random.default_rng(d)
    pts = rng.standard_normal((500, d)) * rng.uniform(0.1, 1e3, d)
    pts[:50] = pts[50:100] + rng.standard_normal((50, d)) * 1e-9  # near-duplicates: rounding matters
    c = rng.standard_normal(d)
    want = kernels.nearest_sq_distances(pts, c[None, :])[0]
    np.testing.assert_array_equal(sq_dists_to(pts, c), want)


def test_cli_dask_option(parquet_dir: str, frames, tmp_path) -> None:
    """``dami select DIR --dask local:2`` prints the local picks; an unsupported strategy is one line, exit 2."""
    import subprocess
    import sys

    _, X, y = frames
    dami = [os.path.join(os.path.dirname(sys.executable), "dami")]
    out = tmp_path / "picks.csv"
    done = subprocess.run(dami + ["select", parquet_dir, "--label", "label", "--budget", "6", "--strategy", "dami",
                                  "--seed", "4", "--dask", "local:2", "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(pd.read_csv(out)["row"].to_numpy(), dami_np.query(X, y, 6, strategy="dami", random_state=4))
    bad = subprocess.run(dami + ["select", parquet_dir, "--label", "label", "--budget", "6", "--strategy", "badge",
                                 "--dask", "local:2"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "badge" in bad.stderr


def test_import_dami_np_never_imports_dask() -> None:
    import subprocess
    import sys

    code = ("import sys, numpy as np, dami_np\n"
            "X = np.random.default_rng(0).standard_normal((60, 3)); y = np.r_[[0, 1] * 5, [None] * 50]\n"
            "dami_np.query(X, y, 3, strategy='margin', random_state=0); dami_np.select(X, y, 2, strategy='random')\n"
            "assert not [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')], 'dask imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unsupported_are_clear(frames) -> None:
    ddf, X, y = frames
    with pytest.raises(ValueError, match="badge"):
        dami_np.query(ddf, "label", 5, strategy="badge")
    assert dami_np.DEFAULT_STRATEGY in _round.SUPPORTED
    np.testing.assert_array_equal(dami_np.query(ddf, "label", 5, random_state=0), dami_np.query(X, y, 5, random_state=0))
    with pytest.raises(ValueError, match="candidates"):
        dami_np.query(ddf, "label", 5, strategy="margin", candidates=[1, 2])
    with pytest.raises(ValueError, match="not a column"):
        dami_np.query(ddf, "nope", 5, strategy="margin")
    with pytest.raises(ValueError, match="budget"):
        dami_np.query(ddf, "label", 10**6, strategy="margin")
    with pytest.raises(ValueError, match="unknown option"):
        dami_np.query(ddf, "label", 5, strategy="margin", bias=False)


def test_killed_worker_same_picks_or_clear_error(frames, cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker dies after the first K-Center round trip: the round recomputes (same picks) or fails clearly."""
    from dami_np._dask import _remote_blocks as _kcenter

    ddf, X, y = frames
    _, client = cluster
    local = dami_np.query(X, y, 40, strategy="dami", random_state=2)
    real = _kcenter._request
    calls = {"n": 0, "killed": None}

    def request(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            victim = sorted(client.scheduler_info()["workers"])[0]
            try:
                client.run(os._exit, 1, workers=[victim])
            except Exception:  # noqa: BLE001 - the worker dies before it answers
                pass
            calls["killed"] = victim
        return real(*args, **kwargs)

    monkeypatch.setattr(_kcenter, "_request", request)
    try:
        remote = dami_np.query(ddf, "label", 40, strategy="dami", random_state=2, block_rows=1500)
    except DaskRoundError as err:
        assert "run the round again" in str(err)
        print("killed worker: clear error", str(err)[:400])
    else:
        np.testing.assert_array_equal(remote, local)
        print("killed worker: recomputed, same picks")
    assert calls["killed"] is not None
    client.wait_for_workers(2, timeout=60)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_merged_representatives_are_the_local_rule(seed: int) -> None:
    """The Dask round's representatives (from each chunk's distinct patterns and the labeled rows'
    patterns, merged on the driver) are ``group_representatives`` over all rows: uneven and empty
    chunks, patterns shared across chunks, a pattern whose first row is unlabeled and whose labeled
    rows lie in this chunk and later ones, a group all of whose rows are labeled."""
    from dami_np.strategies import group_ids, group_representatives

    rng = np.random.default_rng(seed)
    n = 3000
    patterns = rng.integers(0, 4, size=(n, 2)).astype(np.uint8)
    patterns[rng.random(n) < 0.3] = [9, 9]  # one frequent group across every chunk
    patterns[1500:1503] = [7, 7]  # a group of labeled rows only
    labeled = np.zeros(n, dtype=bool)
    labeled[rng.choice(n, 40, replace=False)] = True
    labeled[1500:1503] = True
    nines = np.flatnonzero((patterns == 9).all(axis=1))
    in_second = nines[(nines >= 1) & (nines < 700)]
    labeled[nines[nines < 700]] = False
    labeled[in_second[3]] = True  # the group's lowest labeled row: not the first of its chunk ...
    labeled[nines[nines >= 700][0]] = True  # ... while a later chunk's first row of it is labeled
    cuts = [0, 1, 700, 700, 1800, 2999, 3000]
    found = [_round._first_of_each_pattern(patterns[a:b], a) for a, b in zip(cuts[:-1], cuts[1:])]
    rows = np.flatnonzero(labeled)
    got, got_n = _round.merged_representatives(found, rows, patterns[rows])
    want, want_n = group_representatives(group_ids(patterns), labeled)
    assert got_n == want_n
    np.testing.assert_array_equal(got, want)


def test_dami_select_takes_the_patterns_a_dask_round_computed() -> None:
    """The Dask ``dami_margin`` hands ``dami_select`` the patterns its workers computed on the whole
    table's grid: given the same patterns the picks are those ``dami_select`` computes itself, and
    the given patterns are really the ones used."""
    from dami_np.strategies import dami_select, make_context

    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 4))
    y = np.where(X[:, 0] + X[:, 1] > 0, "a", "b").astype(object)
    y[40:] = None
    context = make_context(X, y, random_state=0)
    model, Xp, labeled = context.model, context.X, context.labeled
    own = dami_select(model, Xp, labeled, 12)
    given = dami_select(model, Xp, labeled, 12, patterns=model.activation_patterns(Xp))
    np.testing.assert_array_equal(given.positions, own.positions)
    np.testing.assert_array_equal(given.distances, own.distances)
    one_region = dami_select(model, Xp, labeled, 12, patterns=np.zeros_like(model.activation_patterns(Xp)))
    assert not np.array_equal(one_region.positions, own.positions)


def test_a_representation_of_other_rows_gives_their_own_points() -> None:
    """A Dask worker computes a batch's DAMI points with the driver's representation ``of_rows``
    its batch: the points of a representation built on those rows, bit for bit."""
    from dami_np.strategies import DamiRepresentation, make_context

    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 5))
    y = np.where(X[:, 0] > X[:, 2], "a", "b").astype(object)
    y[30:] = None
    context = make_context(X, y, random_state=1)
    model, Xp = context.model, context.X
    driver = DamiRepresentation(model, np.empty((0, Xp.shape[1])), patterns=np.empty((0, 0), dtype=np.uint8))
    rows = Xp[100:180]
    got = driver.of_rows(rows, model.activation_patterns(rows)).points(np.arange(80), dtype=driver.dtype)
    want = DamiRepresentation(model, rows).points(np.arange(80), dtype=driver.dtype)
    np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="rows='all'"):
        DamiRepresentation(model, rows, rows="predicted").of_rows(rows, model.activation_patterns(rows))


def test_budget_and_model_width_errors_are_the_local_ones(frames) -> None:
    """The Dask round refuses with the local round's own messages (one owner for each check)."""
    ddf, X, y = frames
    n_unlabeled = int(y.isna().sum())
    for args in ((X, y), (ddf, "label")):
        with pytest.raises(ValueError, match=rf"^budget \({n_unlabeled + 1}\) exceeds the number of unlabeled rows "
                                             rf"\({n_unlabeled}\)$"):
            dami_np.query(*args, n_unlabeled + 1, strategy="random", random_state=0)
    narrow = dami_np.MLPClassifier(max_iter=5, random_state=0).fit(np.zeros((4, 2)), [0, 1, 0, 1])
    messages = []
    for args in ((X, y), (ddf, "label")):
        with pytest.raises(ValueError, match="the fitted model expects 2 features") as caught:
            dami_np.query(*args, 5, strategy="margin", model=narrow, random_state=0, preprocess=True)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
