"""The Parquet input of ``dami select --dask``: a missing path, an empty directory or a glob that
matches nothing is one line naming it (not pandas' or pyarrow's message about something else)."""

from __future__ import annotations

import glob
import os
from typing import Any

__all__ = ["check_parquet_paths"]

_GLOB_CHARS = ("*", "?", "[")


def check_parquet_paths(paths: Any) -> None:
    """Raise ``ValueError`` naming ``paths`` when there is nothing to read there (local paths only)."""
    for path in [paths] if isinstance(paths, (str, os.PathLike)) else list(paths):
        text = os.fspath(path)
        if "://" in text:  # s3://, gcs://...: the filesystem library reports its own errors
            continue
        if any(char in text for char in _GLOB_CHARS):
            if not glob.glob(text, recursive=True):
                raise ValueError(f"{text}: no file matches this pattern")
        elif os.path.isdir(text):
            if not any(files for _, _, files in os.walk(text)):
                raise ValueError(f"{text}: is an empty directory (no Parquet files in it)")
        elif not os.path.exists(text):
            raise ValueError(f"{text}: no such file or directory")
