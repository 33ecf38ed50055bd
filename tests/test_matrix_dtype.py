"""The round's matrix in the model's dtype: float32 when only the default float32 model reads it.

A strategy registered with ``x_through_model=True`` reads ``context.X`` only through the model,
which casts it to float32 first, so a float32 matrix (half the memory of a 1M-row table) must give
the same picks and the same report, bit for bit, as the float64 one.  Every other case keeps float64.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pandas as pd
import pytest

from dami_np import MLPClassifier, _round
from dami_np._model_io import SavedModel
from dami_np._preprocess import TabularPreprocessor
from dami_np.strategies import available, get, x_through_model


def _table(seed: int, n: int = 300, classes: int = 3) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 5)) * rng.uniform(0.1, 50, 5) + rng.normal(0, 100, 5),
                     columns=[f"x{i}" for i in range(5)])
    X["kind"] = rng.choice(["a", "b", "c"], n)
    X.loc[rng.random(n) < 0.05, "x1"] = np.nan
    y = pd.Series(rng.integers(0, classes, n)).astype(object)
    y[rng.random(n) > 0.15] = None
    return X, y


def _round_with(dtype, X, y, strategy, seed):
    with mock.patch.object(_round, "_matrix_dtype", lambda *args: dtype):
        return _round.run_round(X, y, 8, strategy, random_state=seed, params={"max_iter": 60})


THROUGH_MODEL = [name for name in available() if x_through_model(get(name))]


def test_the_main_strategies_read_x_through_the_model():
    assert {"margin", "dami", "dami_margin", "entropy", "least_confidence"} <= set(THROUGH_MODEL)
    assert "kcenter_input" not in THROUGH_MODEL and "random" not in THROUGH_MODEL


@pytest.mark.parametrize("strategy", THROUGH_MODEL)
@pytest.mark.parametrize("seed", [0, 1])
def test_float32_matrix_gives_the_same_round_bit_for_bit(strategy, seed):
    X, y = _table(seed)
    narrow = _round_with(np.float32, X, y, strategy, seed)
    wide = _round_with(None, X, y, strategy, seed)
    assert narrow.table.matrix.dtype == np.float32 and wide.table.matrix.dtype == np.float64
    np.testing.assert_array_equal(narrow.positions, wide.positions)
    pd.testing.assert_frame_equal(narrow.report(), wide.report(), check_exact=True)


def _matrix_dtype(X, y, strategy, **kwargs):
    return _round.run_round(X, y, 5, strategy, random_state=0, **kwargs).table.matrix.dtype


def test_the_default_model_gets_a_float32_matrix_only_where_it_is_the_only_reader():
    X, y = _table(3)
    assert _matrix_dtype(X, y, "margin") == np.float32
    assert _matrix_dtype(X, y, "dami_margin") == np.float32
    assert _matrix_dtype(X, y, "kcenter_input") == np.float64  # reads the features itself
    assert _matrix_dtype(X, y, "boundary") == np.float64  # not marked: its distances use X's own dtype
    assert _matrix_dtype(X, y, "margin", params={"dtype": "float64"}) == np.float64
    assert _matrix_dtype(X, y, "margin", model=MLPClassifier()) == np.float64  # a caller's model: as given
    one_class = y.where(y.isna() | (y == y.dropna().iloc[0]), None)  # cold start: K-Center on the features
    assert _matrix_dtype(X, one_class, "margin") == np.float64


def test_a_float64_saved_model_to_warm_start_keeps_float64():
    X, y = _table(4)
    saved = mock.Mock(spec=SavedModel)
    saved.model = MLPClassifier(dtype="float64")
    assert _round._matrix_dtype(get("margin"), None, None, saved) is None
    saved.model = MLPClassifier()
    assert _round._matrix_dtype(get("margin"), None, None, saved) == np.float32
    assert _round._matrix_dtype(get("margin"), None, {"dtype": np.float32}, None) == np.float32
    assert _round._matrix_dtype(get("margin"), None, {"dtype": "nonsense"}, None) is None


def test_transform_in_float32_is_the_float64_result_rounded_once():
    X, _ = _table(5, n=500)
    X.loc[3, "x0"] = 1e300  # far out: scaled by a power of two first, still a finite standardized value
    pre = TabularPreprocessor().fit(X)
    wide = pre.transform(X)
    narrow = pre.transform(X, dtype=np.float32)
    assert narrow.dtype == np.float32 and wide.dtype == np.float64
    np.testing.assert_array_equal(narrow, wide.astype(np.float32))
    with pytest.raises(ValueError, match="float64 or float32"):
        pre.transform(X, dtype=np.int64)


def test_a_value_too_large_for_float32_is_an_error_not_an_infinity():
    X, _ = _table(6, n=200)
    pre = TabularPreprocessor().fit(X)
    far = X.copy()
    far.loc[7, "x2"] = 1e300  # finite in float64 after standardizing, beyond float32's range
    assert np.isfinite(pre.transform(far)).all()
    with pytest.raises(ValueError, match="too large for float32"):
        pre.transform(far, dtype=np.float32)
