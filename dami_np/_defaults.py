"""Library-wide defaults, in one import-free module so the CLI's ``--help`` stays fast."""

from __future__ import annotations

__all__ = ["DEFAULT_STRATEGY"]

# The strategy ``dami_np.select``, ``dami_np.query`` and ``dami select`` use when none is given:
# what the pre-registered rule of bench/results/label-efficiency-rule.md picked on 18 tables x 10
# seeds: ``dami_margin`` at candidate multiple 2 (its default), the 2 x budget lowest-margin rows
# spread by DAMI's K-Center.
DEFAULT_STRATEGY = "dami_margin"
