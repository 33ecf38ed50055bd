"""Bad input raises ValueError naming the problem (shared checks and MLPClassifier)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dami_np import MLPClassifier
from dami_np._validation import NotFittedError, check_array, check_labels, check_random_state


def _data(n: int = 40, d: int = 3):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    return X, (X[:, 0] > 0).astype(int)


# --- check_array ----------------------------------------------------------------------------------
def test_check_array_converts_and_is_contiguous():
    out = check_array([[1, 2], [3, 4]], dtype=np.float32)
    assert out.dtype == np.float32 and out.flags.c_contiguous and out.shape == (2, 2)
    fortran = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    assert check_array(fortran, dtype=np.float64).flags.c_contiguous
    obj = np.array([[1, 2.5], [3, 4]], dtype=object)
    np.testing.assert_array_equal(check_array(obj, dtype=np.float64), [[1, 2.5], [3, 4]])
    assert check_array(np.array([[True, False]]), dtype=np.float64).tolist() == [[1.0, 0.0]]
    df = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
    np.testing.assert_array_equal(check_array(df, dtype=np.float64), [[1, 0.5], [2, 1.5]])


@pytest.mark.parametrize(
    "value,row,col,what",
    [(np.nan, 3, 1, "NaN"), (np.inf, 0, 2, "infinity"), (-np.inf, 4, 0, "infinity")],
)
def test_check_array_names_first_non_finite_cell(value, row, col, what):
    X = np.ones((5, 3))
    X[row, col] = value
    X[4, 2] = np.nan  # a later bad cell must not be reported first
    with pytest.raises(ValueError, match=f"X contains {what} at row {row}, column {col}"):
        check_array(X, dtype=np.float64)


def test_check_array_overflowing_sum_is_not_an_error():
    X = np.full((4, 2), np.finfo(np.float32).max, dtype=np.float32)
    assert check_array(X, dtype=np.float32).shape == (4, 2)


def test_check_array_value_that_overflows_float32():
    X = np.array([[1.0, 1e300]])  # finite, but inf in float32: say so, not "contains infinity"
    with pytest.raises(ValueError, match=r"value 1e\+300 at row 0, column 1, which overflows to infinity in float32"):
        check_array(X, dtype=np.float32)
    df = pd.DataFrame({"a": [1.0, 2.0], "income": [3.0, -1e300]})
    with pytest.raises(ValueError, match=r"at row 1, column 1 \('income'\).*dtype='float64'"):
        check_array(df, dtype=np.float32)
    assert check_array(X, dtype=np.float64)[0, 1] == 1e300


@pytest.mark.parametrize(
    "X,match",
    [
        (np.zeros((0, 3)), "X has 0 rows"),
        (np.zeros((3, 0)), r"X has 0 columns: found array with 0 feature\(s\) \(shape=\(3, 0\)\)"),
        (np.zeros(4), r"X must be 2-D.*1-D.*Reshape your data.*reshape\(-1, 1\)"),
        (np.float64(3.0), r"X must be 2-D.*0-D.*shape \(\)"),
        (None, "X is None"),
        (np.zeros((2, 2, 2)), "X must be 2-D"),
        (np.array([["a", "b"]]), "X must be numeric, got dtype <U1"),
        (np.array([[1, "x"]], dtype=object), r"X must be numeric, got dtype object.*'x' at row 0, column 1"),
        (np.array([[1 + 2j]]), "X has complex dtype complex128: Complex data not supported"),
        (np.array([[1, 1 + 2j]], dtype=object), r"complex value \(1\+2j\) at row 0, column 1: Complex data not"),
        (np.array([[1.0, None]], dtype=object), "X contains NaN at row 0, column 1"),
        ([[1, 2], [3]], "X could not be converted"),
    ],
)
def test_check_array_rejects(X, match):
    with pytest.raises(ValueError, match=match):
        check_array(X, dtype=np.float64)


def test_check_array_uses_name_and_rejects_int_dtype():
    with pytest.raises(ValueError, match="X_new has 0 rows"):
        check_array(np.zeros((0, 1)), dtype=np.float64, name="X_new")
    with pytest.raises(ValueError, match="floating point"):
        check_array([[1]], dtype=np.int64)


def test_check_array_non_numeric_object_cell_is_a_type_error_too():
    X = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=object)
    X[1, 0] = {"foo": "bar"}
    with pytest.raises(TypeError, match=r"non-numeric value \{'foo': 'bar'\} at row 1, column 0.*argument must be"):
        check_array(X, dtype=np.float64)
    with pytest.raises(ValueError):  # still a ValueError for callers that catch those
        check_array(X, dtype=np.float64)


def test_check_array_names_dataframe_columns():
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, np.nan]})
    with pytest.raises(ValueError, match=r"X contains NaN at row 1, column 1 \('b'\)"):
        check_array(df, dtype=np.float64)


def test_check_array_sparse():
    sparse = pytest.importorskip("scipy.sparse")
    dense = np.array([[0.0, 1.5], [2.0, 0.0], [0.0, 0.0]])
    for make in (sparse.csr_matrix, sparse.csc_array, sparse.coo_matrix):
        out = check_array(make(dense), dtype=np.float32)
        assert out.dtype == np.float32 and out.flags.c_contiguous
        np.testing.assert_array_equal(out, dense)
    with pytest.raises(ValueError, match=r"scipy.sparse matrix of shape \(3, 2\).*above the .* limit.*toarray"):
        check_array(sparse.csr_matrix(dense), dtype=np.float64, sparse_limit_bytes=40)
    bad = sparse.csr_matrix(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="X contains NaN at row 0, column 1"):
        check_array(bad, dtype=np.float64)
    with pytest.raises(ValueError, match="y is a scipy.sparse matrix"):
        check_labels(sparse.csr_matrix(np.ones((2, 1))), 2)


def test_check_labels():
    with pytest.warns(UserWarning, match="A column-vector y was passed when a 1d array was expected") as rec:
        np.testing.assert_array_equal(check_labels([[1], [2]], 2), [1, 2])
    assert type(rec[0].message).__name__ == "DataConversionWarning"
    with pytest.raises(ValueError, match="y has 3 labels but X has 2 rows"):
        check_labels([1, 2, 3], 2)
    with pytest.raises(ValueError, match=r"y must be 1-D.*y should be a 1d array, got an array of shape \(2, 2\)"):
        check_labels(np.zeros((2, 2)), 2)
    with pytest.raises(ValueError, match="requires y to be passed, but the target y is None"):
        check_labels(None, 2)
    with pytest.raises(ValueError, match="Complex data not supported"):
        check_labels(np.array([1 + 1j, 2]), 2)
    with pytest.raises(ValueError, match=r"Unknown label type: continuous.*\(e.g. 0.5\)"):
        check_labels(np.array([1.0, 0.5, 2.0]), 3)
    with pytest.raises(ValueError, match=r"Unknown label type: continuous.*\(e.g. 2.25\)"):
        check_labels(np.array(["a", 2.25], dtype=object), 2)
    with pytest.raises(ValueError, match=r"y contains infinity \(inf\)"):
        check_labels(np.array([1.0, np.inf, 2.0]), 3)
    with pytest.raises(ValueError, match=r"y contains infinity \(-inf\)"):
        check_labels(np.array(["a", -np.inf], dtype=object), 2)
    np.testing.assert_array_equal(check_labels(np.array([1.0, 0.0, 2.0]), 3), [1, 0, 2])  # integer-valued: classes
    np.testing.assert_array_equal(check_labels(np.array([0.5, 1.5]), 2, allow_continuous=True), [0.5, 1.5])
    with pytest.raises(ValueError, match="missing value.*row 1"):
        check_labels(np.array(["a", None, "b"], dtype=object), 3)
    with pytest.raises(ValueError, match="missing value.*row 2"):
        check_labels([0.0, 1.0, np.nan], 3)


def test_check_random_state():
    g = np.random.default_rng(5)
    assert check_random_state(g) is g
    a, b = check_random_state(3), check_random_state(3)
    assert a.integers(1 << 30) == b.integers(1 << 30)
    assert isinstance(check_random_state(None), np.random.Generator)
    assert isinstance(check_random_state(np.random.SeedSequence(1)), np.random.Generator)
    assert isinstance(check_random_state(np.int64(4)), np.random.Generator)
    # a legacy RandomState (scikit-learn accepts it) seeds a generator: consumed, and reproducible from a fresh one
    r1, r2 = check_random_state(np.random.RandomState(7)), check_random_state(np.random.RandomState(7))
    assert isinstance(r1, np.random.Generator) and r1.integers(1 << 30) == r2.integers(1 << 30)
    rs = np.random.RandomState(7)
    assert check_random_state(rs).integers(1 << 30) != check_random_state(rs).integers(1 << 30)
    for bad, match in [("seed", r"random_state must be None, a non-negative int, a numpy RandomState.*'seed' \(str\)"),
                       (1.5, r"got 1.5 \(float\)"), (True, r"got True \(bool\)"), (-1, "non-negative int, got -1"),
                       (np.int64(-3), "non-negative int, got -3")]:
        with pytest.raises(ValueError, match=match):
            check_random_state(bad)


# --- MLPClassifier fit/predict input --------------------------------------------------------------
@pytest.mark.parametrize(
    "make,match",
    [
        (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 7, np.nan, X), y), "X contains NaN at row 2, column 1"),
        (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 3, np.inf, X), y), "X contains infinity at row 1, column 0"),
        (lambda X, y: (X[:0], y[:0]), "X has 0 rows"),
        (lambda X, y: (X.astype(str), y), "X must be numeric"),
        (lambda X, y: (X, y[:-1]), "y has 39 labels but X has 40 rows"),
        (lambda X, y: (X, np.zeros_like(y)), "y has only one class"),
        (lambda X, y: (X, np.where(np.arange(len(y)) == 5, np.nan, y.astype(float))), "y contains a missing value.*row 5"),
        (lambda X, y: (X, np.array([None if i == 2 else "a" if v else "b" for i, v in enumerate(y)], dtype=object)),
         "y contains a missing value.*row 2"),
        (lambda X, y: (X, np.c_[y, y]), "y must be 1-D"),
        (lambda X, y: (X, None), "MLPClassifier requires y to be passed, but the target y is None"),
        (lambda X, y: (X, X[:, 0]), "Unknown label type: continuous"),
        (lambda X, y: (X + 1j, y), "Complex data not supported"),
        (lambda X, y: (X[:, 0], y), "X must be 2-D"),
    ],
)
def test_fit_rejects_bad_input(make, match):
    X, y = make(*_data())
    with pytest.raises(ValueError, match=match):
        MLPClassifier((4,), max_iter=2).fit(X, y)


def test_fit_rejects_bad_classes():
    X, y = _data()
    with pytest.raises(ValueError, match="y contains labels not in classes: \\[1\\]"):
        MLPClassifier((4,), max_iter=2).fit(X, y, classes=[0, 2])
    with pytest.raises(ValueError, match="classes must contain at least two"):
        MLPClassifier((4,), max_iter=2).fit(X, y * 0, classes=[0])
    with pytest.raises(ValueError, match="mutually comparable"):
        MLPClassifier((4,), max_iter=2).fit(X, np.array(["a" if v else 1 for v in y], dtype=object))


def test_early_stopping_needs_two_rows():
    with pytest.raises(ValueError, match="early_stopping needs at least 2 rows"):
        MLPClassifier((4,), early_stopping=True).fit([[0.0]], [0], classes=[0, 1])


@pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function", "local_linear",
                                    "activation_patterns", "region_ids", "hidden_activations"])
def test_use_before_fit(method):
    X, _ = _data()
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(MLPClassifier(), method)(X)
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function", "local_linear",
                                    "activation_patterns", "region_ids", "hidden_activations"])
def test_predict_checks_columns_and_values(method):
    X, y = _data()
    model = MLPClassifier((4,), max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but MLPClassifier is expecting 3 features as input"):
        getattr(model, method)(X[:, :2])
    bad = X.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="X contains NaN at row 1, column 2"):
        getattr(model, method)(bad)


def test_score_checks_labels():
    X, y = _data()
    model = MLPClassifier((4,), max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="y has 39 labels but X has 40 rows"):
        model.score(X, y[:-1])


@pytest.mark.parametrize(
    "params,match",
    [
        ({"hidden_layer_sizes": (4, 0)}, "hidden_layer_sizes must contain positive ints"),
        ({"hidden_layer_sizes": (4, 2.5)}, "hidden_layer_sizes must contain positive ints"),
        ({"hidden_layer_sizes": "10"}, "hidden_layer_sizes must contain positive ints"),
        ({"hidden_layer_sizes": None}, "hidden_layer_sizes must be an int or a sequence"),
        ({"alpha": -1.0}, "alpha must be >= 0"),
        ({"alpha": float("nan")}, "alpha must be a finite number"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"batch_size": 3.0}, "batch_size must be a finite int"),
        ({"learning_rate_init": 0.0}, "learning_rate_init must be > 0"),
        ({"max_iter": 0}, "max_iter must be >= 1"),
        ({"n_iter_no_change": 0}, "n_iter_no_change must be >= 1"),
        ({"tol": -1e-3}, "tol must be >= 0"),
        ({"validation_fraction": 0.0}, "validation_fraction must be > 0"),
        ({"validation_fraction": 1.0}, r"validation_fraction must be in \(0, 1\)"),
        ({"dtype": "float16"}, "dtype must be 'float32' or 'float64'"),
        ({"dtype": "nonsense"}, "dtype must be 'float32' or 'float64'"),
        ({"shuffle": "yes"}, "shuffle must be a bool"),
        ({"early_stopping": 1}, "early_stopping must be a bool"),
        ({"random_state": "x"}, "random_state must be"),
    ],
)
def test_fit_validates_hyperparameters(params, match):
    X, y = _data()
    model = MLPClassifier(**{"max_iter": 2, **params})  # the constructor only stores
    assert model.get_params()[next(iter(params))] is params[next(iter(params))]
    with pytest.raises(ValueError, match=match):
        model.fit(X, y)


def test_set_params_rejects_unknown():
    with pytest.raises(ValueError, match="Invalid parameter 'learning_rate' for MLPClassifier"):
        MLPClassifier().set_params(learning_rate=0.1)


def test_int_hidden_layer_sizes_and_numpy_dtype_accepted():
    X, y = _data()
    model = MLPClassifier(6, max_iter=2, dtype=np.float64, random_state=0).fit(X, y)
    assert [W.shape for W in model.coefs_] == [(3, 6), (6, 2)] and model.coefs_[0].dtype == np.float64


# --- feature names (scikit-learn's rules, without scikit-learn) ------------------------------------
def test_feature_names_are_recorded_and_checked():
    X, y = _data()
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    model = MLPClassifier((4,), max_iter=2, random_state=0).fit(df, y)
    assert model.feature_names_in_.dtype == object and model.feature_names_in_.tolist() == ["a", "b", "c"]
    with pytest.warns(UserWarning, match="X does not have valid feature names, but MLPClassifier was fitted with"):
        np.testing.assert_array_equal(model.predict(df), model.predict(X))  # X without names: a warning only
    with pytest.raises(ValueError, match="Feature names must be in the same order as they were in fit"):
        model.predict(df[["c", "b", "a"]])
    with pytest.raises(ValueError, match=r"(?s)Feature names unseen at fit time:\n- z\n.*yet now missing:\n- c\n"):
        model.predict(df.rename(columns={"c": "z"}))
    refit = model.fit(X, y)  # refit on an array forgets the names
    assert not hasattr(refit, "feature_names_in_")
    with pytest.warns(UserWarning, match="X has feature names, but MLPClassifier was fitted without feature names"):
        refit.predict(df)
    ints = MLPClassifier((4,), max_iter=2, random_state=0).fit(pd.DataFrame(X), y)  # non-string names: none kept
    assert not hasattr(ints, "feature_names_in_")


def test_sparse_x_is_densified_or_refused_clearly():
    sparse = pytest.importorskip("scipy.sparse")
    X, y = _data()
    model = MLPClassifier((4,), max_iter=2, random_state=0).fit(sparse.csr_matrix(X), y)
    np.testing.assert_array_equal(model.predict(sparse.coo_array(X)), model.predict(X))
    with pytest.raises(ValueError, match="X has 2 features, but MLPClassifier is expecting 3"):
        model.predict(sparse.csr_matrix(X[:, :2]))
    huge = sparse.csr_matrix((10**6, 10**5))  # 400 GB dense in float32
    with pytest.raises(ValueError, match=r"scipy.sparse matrix of shape \(1000000, 100000\).*GiB.*limit"):
        model.predict(huge)
