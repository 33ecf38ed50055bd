"""The report's probabilities and distances come from the picked and labeled rows only, each row alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dami_np
from dami_np import MLPClassifier
from dami_np._report_numbers import pick_probabilities, report_space_distances
from dami_np._stable_rows import each_row_alone


def _problem(n: int = 12_000, n_labeled: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    y_true = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) + (X[:, 2] > 0.7)
    y = y_true.astype(float)
    y[n_labeled:] = np.nan
    model = MLPClassifier(hidden_layer_sizes=(12,), max_iter=40, random_state=seed)
    model.fit(X[:n_labeled], y_true[:n_labeled])
    return X, y, model


def test_the_report_evaluates_only_the_picked_and_labeled_rows(monkeypatch):
    X, y, model = _problem()
    seen: list[int] = []
    for name in ("predict_proba", "activation_patterns", "logits"):
        original = getattr(MLPClassifier, name)

        def counting(self, rows, _original=original):
            seen.append(int(np.shape(rows)[0]))
            return _original(self, rows)

        monkeypatch.setattr(MLPClassifier, name, counting)
    report = dami_np.select(X, y, 5, strategy="random", model=model, random_state=0)  # random: no model use
    assert len(report) == 5 and report["distance"].notna().all() and report["probability"].notna().all()
    assert sum(seen) <= 3 * (5 + 40)  # never blocks of the table around the picks (4,096 rows each before)


def test_a_picks_report_does_not_depend_on_the_other_rows_of_the_table():
    X, y, model = _problem()
    candidates = np.arange(100, 400)
    alone = dami_np.select(X, y, 6, strategy="margin", model=model, candidates=candidates, random_state=0)
    extra = np.random.default_rng(9).normal(size=(1_000, X.shape[1]))  # shifts every row's block of the table
    X2 = np.concatenate([X[:40], extra, X[40:]])
    y2 = np.concatenate([y[:40], np.full(len(extra), np.nan), y[40:]])
    shifted = dami_np.select(X2, y2, 6, strategy="margin", model=model, candidates=candidates + len(extra),
                             random_state=0)
    assert (shifted["row"].to_numpy() - len(extra) == alone["row"].to_numpy()).all()
    pd.testing.assert_frame_equal(shifted.drop(columns=["row"]), alone.drop(columns=["row"]), check_exact=True)


def test_numbers_are_those_of_each_row_alone_and_match_the_whole_table_closely():
    X, _, model = _problem(n=300)
    rows = np.array([250, 3, 77])
    proba = pick_probabilities(model, X[rows])
    for i, row in enumerate(rows):
        assert np.array_equal(proba[i], np.asarray(model.predict_proba(X[row : row + 1]), dtype=np.float64)[0])
    np.testing.assert_allclose(proba, model.predict_proba(X)[rows], rtol=1e-5, atol=1e-7)
    W, b = model.local_linear(X[:43])
    points = np.concatenate([np.asarray(W, np.float64).reshape(43, -1), np.asarray(b, np.float64)], axis=1)
    want = [np.sqrt(((points[:40] - points[40]) ** 2).sum(axis=1)).min()]
    for j in (41, 42):
        want.append(np.sqrt(((points[:j] - points[j]) ** 2).sum(axis=1)).min())
    got = report_space_distances(model, X[:40], X[40:43])
    np.testing.assert_allclose(got, want, rtol=1e-4)


def test_each_row_alone_stacks_one_result_row_per_input_row():
    X = np.arange(12.0).reshape(4, 3)
    out = each_row_alone(lambda x: x.sum(axis=1, keepdims=True) * np.ones((1, 2)), X)
    assert out.shape == (4, 2) and np.array_equal(out[:, 0], X.sum(axis=1))
    with pytest.raises(ValueError, match="at least one row"):
        each_row_alone(lambda x: x, X[:0])
