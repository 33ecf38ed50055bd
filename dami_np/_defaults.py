"""Library-wide defaults, in one import-free module so the CLI's ``--help`` stays fast."""

from __future__ import annotations

__all__ = ["DEFAULT_STRATEGY"]

# The strategy ``dami_np.select``, ``dami_np.query`` and ``dami select`` use when none is given.
# Chosen by the pre-registered rule of bench/results/label-efficiency.md (issue 15 decides it;
# until then BADGE, the best of the 11-table report).
DEFAULT_STRATEGY = "badge"
