"""The learner comparison's metrics (bench/label_efficiency_learners.py): labels to 95% and the rule's target."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
learners = pytest.importorskip("label_efficiency_learners")


def _curve(pipeline, accs, labels=(20, 40, 60)):
    return [{"budget": "today", "table": "t", "pipeline": pipeline, "seed": s, "n_labeled": n, "accuracy": a}
            for s in (0, 1) for n, a in zip(labels, accs)]


def test_labels_to_95_is_the_first_count_on_the_seed_mean_curve():
    curves = pd.DataFrame(_curve("default", (0.5, 0.9, 0.96)) + _curve("fast", (0.96, 0.97, 0.98))
                          + _curve("never", (0.5, 0.5, 0.5)))
    out = learners.labels_to_95(curves, pd.Series({"t": 1.0})).set_index("pipeline")["labels_95"]
    assert out["default"] == 60 and out["fast"] == 20 and math.isinf(out["never"])


@pytest.mark.parametrize("cand, ref, ratio", [(20, 60, 1 / 3), (math.inf, math.inf, 1.0), (math.inf, 60, math.inf),
                                              (60, math.inf, 0.0)])
def test_ratio_follows_the_rule(cand, ref, ratio):
    assert learners._ratio(cand, ref) == ratio


def test_target_lists_every_criterion_missed():
    good = pd.Series({"vs_default": 0.012, "worst_table": -0.005, "median_l95_ratio": 0.7, "time_ratio": 1.5})
    assert learners.reaches_target(good) == []
    bad = pd.Series({"vs_default": 0.004, "worst_table": -0.02, "median_l95_ratio": 1.0, "time_ratio": 4.0})
    missed = learners.reaches_target(bad)
    assert len(missed) == 4 and "short by 0.0060" in missed[0]


@pytest.mark.parametrize("n_labeled, n_classes, multiple", [(20, 2, 2.0), (40, 2, 2.0), (80, 2, 1.5), (400, 2, 1.1),
                                                             (2000, 2, 1.02), (26, 26, 2.0), (0, 0, 2.0)])
def test_budget_aware_multiple_is_amendment_2s_formula(n_labeled, n_classes, multiple):
    assert learners.budget_aware_multiple(n_labeled, n_classes) == pytest.approx(multiple)


def test_budget_aware_candidate_is_dami_margin_at_its_multiple():
    """Same picks as dami_margin called with the multiple the formula gives for the round's labels."""
    import numpy as np

    import dami_np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = np.full(300, np.nan)
    y[:120] = (X[:120, 0] > 0).astype(float)  # 120 labels, 2 classes: L = 60, multiple 1 + 20/60
    got = dami_np.query(X, y, 10, strategy=learners.budget_aware_dami_margin, random_state=0)
    want = dami_np.query(X, y, 10, strategy="dami_margin", random_state=0, candidate_multiple=1 + 20 / 60)
    assert np.array_equal(got, want)


def _summary(**deltas):
    rows = {"default": {"vs_default": 0.0, "worst_table": 0.0, "median_l95_ratio": 1.0, "time_ratio": 1.0}}
    for name, d in deltas.items():
        rows[name] = {"vs_default": d, "worst_table": -0.005, "median_l95_ratio": 0.7, "time_ratio": 1.2}
    return pd.DataFrame(rows).T


def test_decision_needs_the_target_at_every_budget():
    everywhere = {b: _summary(a=0.02, b=0.011) for b in learners.BUDGETS}
    assert "New default: a" in learners.decision_lines(everywhere, ["a", "b"])[0]
    one_short = dict(everywhere, medium=_summary(a=0.005, b=0.011))
    assert "New default: b" in learners.decision_lines(one_short, ["a", "b"])[0]
    none = {b: _summary(a=0.005, b=0.0) for b in learners.BUDGETS}
    lines = learners.decision_lines(none, ["a", "b"])
    assert "no new default" in lines[0] and sum("| a |" in line for line in lines) == 3


def test_a_marked_section_is_replaced_and_kept(tmp_path):
    import _report_sections as sections

    path = tmp_path / "r.md"
    path.write_text("# head\n\ntext\n", encoding="utf-8")
    sections.replace_section(path, "learners", "first")
    sections.replace_section(path, "learners", "second")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# head\n\ntext\n") and "second" in text and "first" not in text
    assert sections.sections(text) == [sections.marked("learners", "second")]
