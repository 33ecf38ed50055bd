"""Honest status (issue 25): audit rows (``select --audit N``) give an unbiased accuracy estimate
whose interval holds the pool accuracy at its nominal rate; the coverage radius lives in a fixed
space (it never grows as labels are added)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import dami_np
from dami_np import stopping
from dami_np._preprocess import TabularPreprocessor

from test_predict import make_table, one_error_line, run


def _round(tmp_path, capsys, *extra: str) -> tuple[int, str]:
    code, _, err = run(capsys, "select", str(tmp_path / "t.csv"), "--label", "label", "--budget", "6", "--id", "key",
                       "--exclude", "noise", "--out", str(tmp_path / "picks.json"), "-q", *extra)
    return code, err


def test_audit_rows_join_the_sheet_without_changing_the_picks(tmp_path, capsys):
    frame, truth = make_table()
    frame.to_csv(tmp_path / "t.csv", index=False)
    assert _round(tmp_path, capsys)[0] == 0
    plain = json.loads((tmp_path / "picks.json").read_text())
    code, err = _round(tmp_path, capsys, "--audit", "10", "--sheet", str(tmp_path / "s.csv"), "--save-model",
                       str(tmp_path / "m.npz"))
    assert code == 0, err
    assert json.loads((tmp_path / "picks.json").read_text()) == plain  # the audit draw never moves a pick
    sheet = pd.read_csv(tmp_path / "s.csv", keep_default_na=False)
    audit = sheet[sheet["dami_audit"] == "audit"]
    picked = {p["row"] for p in plain}
    assert len(sheet) == 16 and len(audit) == 10 and sheet["dami_audit"].head(6).eq("").all()
    assert not set(audit["dami_row"]) & picked and frame["label"].iloc[audit["dami_row"]].isna().all()
    assert audit["dami_predicted"].eq("").all()  # the model's guess is not shown on audit rows
    info = dami_np.load_model(tmp_path / "m.npz").info_
    in_order = audit.sort_values("dami_row")
    assert info["audit"] == {"rows": in_order["dami_row"].tolist(), "ids": in_order["key"].tolist()}
    # label the sheet (picks and audit rows), merge, and ask the status
    sheet["label"] = truth[sheet["dami_row"].to_numpy()]
    sheet.to_csv(tmp_path / "s.csv", index=False)
    code, _, err = run(capsys, "merge", str(tmp_path / "s.csv"), "--into", str(tmp_path / "t.csv"), "--label", "label",
                       "-q")
    assert code == 0, err
    code, out, err = run(capsys, "status", str(tmp_path / "t.csv"), "--label", "label", "--model",
                         str(tmp_path / "m.npz"))
    assert code == 0, err
    rows = audit["dami_row"].to_numpy()
    expected = np.mean(dami_np.load_model(tmp_path / "m.npz").predict(frame.iloc[rows]) == truth[rows])
    assert "audit accuracy (10 of 10 audit rows labeled" in out and f"{expected:.3f} (95% interval" in out
    assert "pessimistic" in out  # the cross-validated number says what it is


def test_audit_bad_input_is_one_line(tmp_path, capsys):
    frame, _ = make_table()
    frame.to_csv(tmp_path / "t.csv", index=False)
    one_error_line(*_round(tmp_path, capsys, "--audit", "3"), "--audit needs --sheet")
    one_error_line(*_round(tmp_path, capsys, "--audit", "3", "--sheet", str(tmp_path / "s.csv")), "--save-model")
    one_error_line(*_round(tmp_path, capsys, "--audit", "0", "--sheet", str(tmp_path / "s.csv"), "--save-model",
                           str(tmp_path / "m.npz")), "positive")
    one_error_line(*_round(tmp_path, capsys, "--audit", "79", "--sheet", str(tmp_path / "s.csv"), "--save-model",
                           str(tmp_path / "m.npz")), "80 unlabeled rows")
    assert not (tmp_path / "s.csv").exists() and not (tmp_path / "m.npz").exists()
    frame.assign(dami_audit="x").to_csv(tmp_path / "t.csv", index=False)
    one_error_line(*_round(tmp_path, capsys, "--audit", "3", "--sheet", str(tmp_path / "s.csv"), "--save-model",
                           str(tmp_path / "m.npz"), "--exclude", "dami_audit"), "'dami_audit'")


def test_audit_interval_covers_the_pool_accuracy_at_its_nominal_rate():
    """Models after active rounds on a bundled table; per model, 150 audit draws of 40 rows through
    ``audit_sample``/``audit_estimate``: the 95% interval must hold the true pool accuracy in about
    95% of the draws (a binomial check: 0.91-0.99 over 450 draws), and the mean estimate is unbiased."""
    X, y = dami_np.datasets.load("vehicle")
    matrix = TabularPreprocessor().fit_transform(X)
    labels = y.astype(str).to_numpy()
    covered, errors = [], []
    for seed, n_labeled in ((0, 40), (1, 80), (2, 160)):
        known = np.full(len(labels), None, dtype=object)
        start = np.random.default_rng(seed).choice(len(labels), 30, replace=False)
        known[start] = labels[start]
        picks = dami_np.query(matrix, known, n_labeled - 30, strategy="margin", random_state=seed, preprocess=False)
        known[picks] = labels[picks]  # actively chosen labels: the hard rows
        labeled = np.array([k is not None for k in known])
        model = dami_np.MLPClassifier(max_iter=100, random_state=seed).fit(matrix[labeled], labels[labeled])
        pool = np.flatnonzero(~labeled)
        predicted = model.predict(matrix)
        truth = float(np.mean(predicted[pool] == labels[pool]))
        for draw in range(150):
            rows = stopping.audit_sample(pool, 40, seed=1000 * seed + draw)
            assert np.unique(rows).size == 40 and not labeled[rows].any()
            accuracy, (lo, hi), n = stopping.audit_estimate(predicted[rows], labels[rows])
            assert n == 40
            covered.append(lo <= truth <= hi)
            errors.append(accuracy - truth)
    assert 0.91 <= np.mean(covered) <= 0.99, np.mean(covered)
    assert abs(np.mean(errors)) < 3 * np.std(errors) / math.sqrt(len(errors)) + 0.005


def test_audit_sample_is_uniform_seeded_and_leaves_the_picks_alone():
    pool = np.arange(100, 200)
    a = stopping.audit_sample(pool, 30, seed=4, exclude=[100, 101])
    assert a.tolist() == stopping.audit_sample(pool, 30, seed=4, exclude=[100, 101]).tolist()
    assert not {100, 101} & set(a.tolist()) and set(a.tolist()) <= set(pool.tolist())
    counts = np.bincount(np.concatenate([stopping.audit_sample(pool, 10, seed=s) for s in range(400)]) - 100)
    assert counts.min() > 15 and counts.max() < 70  # every row about 40 times: no row is favoured
    with pytest.raises(ValueError, match="only 98 unlabeled rows"):
        stopping.audit_sample(pool, 99, exclude=[100, 101])
    assert stopping.audit_estimate(["a", "b"], [None, float("nan")]) is None


def test_coverage_radius_is_in_the_input_space_and_never_grows():
    X, y = dami_np.datasets.load("vehicle")
    matrix = TabularPreprocessor().fit_transform(X)[:400]
    labels = y.astype(str).to_numpy()[:400]
    labeled = np.zeros(400, dtype=bool)
    radii = []
    for step in range(4):
        labeled[np.random.default_rng(step).choice(400, 25, replace=False)] = True
        radii.append(stopping.input_coverage_radius(matrix, labeled))
    brute = np.sqrt(((matrix[~labeled][:, None, :] - matrix[labeled][None, :, :]) ** 2).sum(axis=2).min(axis=1).max())
    assert radii[-1] == pytest.approx(brute, rel=1e-9)
    assert all(b <= a for a, b in zip(radii, radii[1:]))
    part = pd.Series(np.where(labeled, labels, None))
    one = stopping.status(X.iloc[:400], part, random_state=0)
    model = dami_np.MLPClassifier(hidden_layer_sizes=(7,), max_iter=30, random_state=1)
    other = stopping.status(X.iloc[:400], part, random_state=5, params=model.get_params())
    own = stopping.input_coverage_radius(TabularPreprocessor().fit_transform(X.iloc[:400]), labeled)
    assert one.coverage_radius == other.coverage_radius == own  # the table's space: no model in it
    assert "preprocessed input space" in "\n".join(one.lines())


def test_wilson_interval_ends_are_exact():
    """All right (or all wrong) audit rows: the interval must reach 1 (0) exactly, or a pool accuracy of
    exactly 1.0 falls outside it (the float formula gives 0.9999999999999999 for n = 10, ...)."""
    for n in range(1, 300):
        assert stopping.wilson_interval(n, n)[1] == 1.0 and stopping.wilson_interval(0, n)[0] == 0.0


def test_next_select_round_reports_the_audit_estimate(tmp_path, capsys):
    frame, truth = make_table()
    frame.to_csv(tmp_path / "t.csv", index=False)
    code, err = _round(tmp_path, capsys, "--audit", "8", "--sheet", str(tmp_path / "s.csv"), "--save-model",
                       str(tmp_path / "m.npz"))
    assert code == 0, err
    sheet = pd.read_csv(tmp_path / "s.csv", keep_default_na=False)
    sheet["label"] = truth[sheet["dami_row"].to_numpy()]
    sheet.to_csv(tmp_path / "s.csv", index=False)
    assert run(capsys, "merge", str(tmp_path / "s.csv"), "--into", str(tmp_path / "t.csv"), "--label", "label",
               "-q")[0] == 0
    code, _, err = run(capsys, "select", str(tmp_path / "t.csv"), "--label", "label", "--budget", "4", "--id", "key",
                       "--exclude", "noise", "--model", str(tmp_path / "m.npz"), "--out", str(tmp_path / "p2.csv"))
    assert code == 0, err
    assert "status: audit accuracy (8 of 8 audit rows labeled" in err and "training labels like any other" in err
