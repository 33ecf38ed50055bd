"""Uncertainty strategies score the candidates batch by batch (the model's own forward batches):
the same probabilities as one call, without a copy of every candidate row."""

from __future__ import annotations

import numpy as np

import dami_np
from dami_np import MLPClassifier
from dami_np.strategies import make_context
from dami_np.strategies._uncertainty import unlabeled_proba


def test_candidates_are_scored_in_the_models_batches_with_the_same_bits(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(700, 8))
    y = np.where(np.arange(700) < 60, (X[:, 0] > 0).astype(float), np.nan)
    model = MLPClassifier(hidden_layer_sizes=(16,), max_iter=30, random_state=0).fit(X[:60], y[:60])
    monkeypatch.setattr(MLPClassifier, "_forward_rows", lambda self: 50)  # small batches on a small table
    want = np.asarray(model.predict_proba(X[60:]), dtype=np.float64)  # one call, batched inside the same way
    sizes: list[int] = []
    original = MLPClassifier.predict_proba

    def counting(self, rows):
        sizes.append(len(rows))
        return original(self, rows)

    monkeypatch.setattr(MLPClassifier, "predict_proba", counting)
    context = make_context(X, y, model=model)
    got = unlabeled_proba(context)
    assert np.array_equal(got.view(np.uint64), want.view(np.uint64))
    assert max(sizes) <= 50 and sum(sizes) == 640
    picks = dami_np.query(X, y, 5, strategy="margin", model=model)
    margin = np.sort(want, axis=1)
    assert np.array_equal(picks, 60 + np.argsort(margin[:, -1] - margin[:, -2], kind="stable")[:5])
