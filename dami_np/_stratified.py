"""The one stratified split of the library: held-out rows per class as equal in share as rounding allows.

``simulate`` holds out its test part with it and ``MLPClassifier(early_stopping=True)`` its
validation part, so both follow one rule: ``round(fraction * n)`` rows (halves up, at least one)
spread over the classes by largest remainder (ties to the lower class code), never a class's last
row, each class's rows drawn by a permutation of its own.
"""

from __future__ import annotations

import numpy as np

__all__ = ["allocate", "stratified_split"]


def allocate(total: int, weights: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Split ``total`` over classes in proportion to ``weights`` (largest remainder), at most ``caps``."""
    weights = np.asarray(weights, dtype=np.float64)
    caps = np.asarray(caps, dtype=np.int64)
    total = min(int(total), int(caps.sum()))
    quota = total * weights / weights.sum()
    counts = np.minimum(np.floor(quota).astype(np.int64), caps)
    order = np.lexsort((np.arange(len(weights)), -(quota - counts)))  # largest remainder first, ties by class
    while counts.sum() < total:
        for c in order:
            if counts.sum() < total and counts[c] < caps[c]:
                counts[c] += 1
    return counts


def stratified_split(codes: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (kept, held-out) positions of label ``codes`` (0..C-1); every class keeps a row."""
    codes = np.asarray(codes)
    counts = np.bincount(codes)
    n_held = max(1, int(np.floor(fraction * len(codes) + 0.5)))
    per_class = allocate(n_held, counts, np.maximum(counts - 1, 0))
    if per_class.sum() == 0:
        raise ValueError("the held-out part would be empty: every class has a single row")
    parts = [rng.permutation(np.flatnonzero(codes == c))[:m] for c, m in enumerate(per_class)]
    held = np.sort(np.concatenate(parts))
    kept = np.setdiff1d(np.arange(len(codes)), held, assume_unique=True)
    return kept, held
