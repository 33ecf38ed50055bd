"""File formats the command line knows by name or by first bytes, shared by reading and writing."""

from __future__ import annotations

import bz2
import gzip
import lzma
from typing import Any, Callable

PARQUET_SUFFIXES = (".parquet", ".pq")
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
TSV_SUFFIXES = (".tsv", ".tab", ".tsv.gz", ".tab.gz")
COMPRESSED = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz"}
OPENERS: dict[str, Callable[..., Any]] = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}
COMPRESSED_SUFFIX = {"gzip": ".gz", "bz2": ".bz2", "xz": ".xz"}
OUTPUT_FORMATS = ("csv", "tsv", "parquet", "json")
