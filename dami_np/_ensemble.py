"""A seed ensemble of ReLU MLPs as one ReLU MLP (issue 29, candidate (c)).

Averaging the members' *logits* is exactly one wider network: the members' hidden units side by
side (block-diagonal weights below the output layer), output weights divided by the number of
members, output intercept the members' mean.  So the ensemble predicts, explains
(``W(x) x + b(x)`` = the average of the members' local maps) and feeds DAMI as one ``MLPClassifier``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dami_np._mlp import MLPClassifier
from dami_np._network_weights import network_with_weights

__all__ = ["merge_members"]


def merge_members(members: list[MLPClassifier], params: dict[str, Any]) -> MLPClassifier:
    """One ``MLPClassifier(**params)`` whose logits are the mean of the fitted ``members``' logits."""
    first = members[0]
    for m in members[1:]:
        if not np.array_equal(m.classes_, first.classes_) or [W.shape for W in m.coefs_] != [W.shape for W in first.coefs_]:
            raise ValueError("ensemble members must share classes and layer sizes")
    k = len(members)
    n_layers = len(first.coefs_)
    coefs, intercepts = [], []
    for i in range(n_layers):
        if i == 0:
            W = np.concatenate([m.coefs_[0] for m in members], axis=1)
        else:
            blocks = [m.coefs_[i] for m in members]
            rows = sum(B.shape[0] for B in blocks)
            cols = blocks[0].shape[1] if i == n_layers - 1 else sum(B.shape[1] for B in blocks)
            W = np.zeros((rows, cols), dtype=blocks[0].dtype)
            r = c = 0
            for B in blocks:
                if i == n_layers - 1:  # output layer: stacked, each member's share 1/k
                    W[r : r + B.shape[0]] = B / k
                else:
                    W[r : r + B.shape[0], c : c + B.shape[1]] = B
                    c += B.shape[1]
                r += B.shape[0]
        coefs.append(W)
        if i == n_layers - 1:
            intercepts.append(np.mean([m.intercepts_[i] for m in members], axis=0))
        else:
            intercepts.append(np.concatenate([m.intercepts_[i] for m in members]))
    return network_with_weights(coefs, intercepts, first.classes_, {**params, "dtype": np.dtype(first._dtype).name})
