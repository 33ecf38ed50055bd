"""An ``MLPClassifier`` holding given weights: how pool learners hand over the network that predicts.

The result is an ordinary fitted ``MLPClassifier``: it predicts, explains (``local_linear``), saves,
and continues training from these weights with ``warm_start=True``.  (``_model_io`` builds models
from a file's checked arrays; this builds one from arrays already in memory.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dami_np._mlp import MLPClassifier
from dami_np._mlp_math import ParamLayout

__all__ = ["network_with_weights"]


def network_with_weights(
    coefs: list[np.ndarray], intercepts: list[np.ndarray], classes: np.ndarray, params: dict[str, Any]
) -> MLPClassifier:
    """A fitted ``MLPClassifier(**params)`` whose weights are ``coefs``/``intercepts`` (copied) and classes ``classes``.

    ``hidden_layer_sizes`` is taken from the weights' shapes; the dtype is ``params["dtype"]`` (default float32).
    """
    layer_sizes = [int(coefs[0].shape[0]), *(int(W.shape[1]) for W in coefs)]
    model = MLPClassifier(**{**params, "hidden_layer_sizes": tuple(layer_sizes[1:-1])})
    dtype = np.dtype(model.dtype)
    layout = ParamLayout(layer_sizes)
    model._dtype = dtype
    model._layout = layout
    model._flat = layout.pack(coefs, intercepts, dtype)
    model.coefs_, model.intercepts_ = layout.views(model._flat)
    model._adam = None
    model.classes_ = np.asarray(classes)
    model.n_features_in_ = layer_sizes[0]
    model.n_iter_, model.loss_curve_ = 0, []
    return model
