"""An ``MLPClassifier`` holding given weights: how pool learners hand over the network that predicts.

Built through ``_model_io``'s loader (the one owner of "a fitted model from its arrays"), so the
result is an ordinary fitted ``MLPClassifier``: it predicts, explains (``local_linear``), saves,
and continues training from these weights with ``warm_start=True``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dami_np._mlp import MLPClassifier
from dami_np._mlp_math import ParamLayout
from dami_np._model_io import _build_model

__all__ = ["network_with_weights"]


def network_with_weights(
    coefs: list[np.ndarray], intercepts: list[np.ndarray], classes: np.ndarray, params: dict[str, Any]
) -> MLPClassifier:
    """A fitted ``MLPClassifier(**params)`` whose weights are ``coefs``/``intercepts`` (copied) and classes ``classes``.

    ``params["hidden_layer_sizes"]`` is set from the weights' shapes; the dtype is ``params["dtype"]``
    (default float32).
    """
    layer_sizes = [int(coefs[0].shape[0]), *(int(W.shape[1]) for W in coefs)]
    params = {**MLPClassifier(**params).get_params(), "hidden_layer_sizes": tuple(layer_sizes[1:-1])}
    params["dtype"] = np.dtype(params["dtype"]).name
    dtype = np.dtype(params["dtype"])
    layout = ParamLayout(layer_sizes)
    flat = layout.pack(coefs, intercepts, dtype)
    meta = {"params": params, "layer_sizes": layer_sizes, "n_features_in": layer_sizes[0]}
    return _build_model({"flat": flat, "classes": np.asarray(classes)}, meta)
