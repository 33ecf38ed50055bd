"""Reading an ``.npz`` someone else wrote: only the members asked for, each checked before it is read.

``np.load`` inflates any member it is asked for, trusts the shape an ``.npy`` header declares and
leaves the file open when it fails half-way.  Here the zip directory and each member's ``.npy``
header are read first; a member is read only if it is stored uncompressed (as ``np.savez``
writes it, so it can never need more memory than the file's own bytes), its dtype is one the
caller allows and its declared shape is the one the caller expects, with exactly as many bytes
as that shape needs.  A pipe (``<(cat m.npz)``) is read into memory up to a bound.  Every
problem is an ``NpzError`` (a ``ValueError``) with a short reason; no pickle ever runs.
"""

from __future__ import annotations

import io
import math
import os
import stat
import zipfile
from typing import Any, Callable

import numpy as np
from numpy.lib import format as npy_format

__all__ = ["NpzError", "NpzArchive", "MAX_STREAM_BYTES"]

# A model file read from a pipe (no size known beforehand) is kept in memory up to this size.
MAX_STREAM_BYTES = 1 << 30


class NpzError(ValueError):
    """The file is not a readable ``.npz`` of the expected layout; the message says why.

    ``zip_like`` is True when the file starts like a zip archive (so it is damaged, not another kind).
    """

    zip_like = True


class NpzArchive:
    """An opened ``.npz``: ``names`` lists its members, ``read`` checks and reads one.

    Use as a context manager; the file is closed on every path, errors included.
    """

    def __init__(self, source: str | os.PathLike[str] | io.IOBase) -> None:
        self._handle: Any = None
        self._zip: zipfile.ZipFile | None = None
        try:
            self._handle, self._size = _open(source)
            start = self._handle.tell()
            zip_like = self._handle.read(2) == b"PK"
            self._handle.seek(start)
        except BaseException:
            self.close()
            raise
        try:
            self._zip = zipfile.ZipFile(self._handle)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError, NotImplementedError,
                MemoryError) as error:
            self.close()
            failure = NpzError(f"not a readable .npz (zip) file: {_short(error)}")
            failure.zip_like = zip_like
            raise failure from None
        self._members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if not info.filename.endswith(".npy"):
                continue
            name = info.filename[:-4]
            if name in self._members:
                self.close()
                raise NpzError(f"member {name!r} appears twice")
            self._members[name] = info

    def __enter__(self) -> NpzArchive:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the zip and the file (safe to call twice)."""
        if self._zip is not None:
            self._zip.close()
            self._zip = None
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    @property
    def names(self) -> list[str]:
        """The array members (``.npy`` files, without the suffix)."""
        return list(self._members)

    def header(self, name: str) -> tuple[tuple[int, ...], np.dtype]:
        """The declared shape and dtype of member ``name`` (nothing of its data is read)."""
        with self._open_member(name) as stream:
            shape, dtype, _ = self._checked_header(name, stream)
        return shape, dtype

    def read(self, name: str, *, dtypes: Callable[[np.dtype], bool], shape: Callable[[tuple[int, ...]], str | None]
             ) -> np.ndarray:
        """Member ``name`` as an array, after checking its dtype (``dtypes(dtype)`` must be true),
        its shape (``shape(declared)`` returns None or what is wrong) and its byte size."""
        with self._open_member(name) as stream:
            declared, dtype, fortran = self._checked_header(name, stream)
            if not dtypes(dtype):
                raise NpzError(f"member {name!r} has dtype {dtype.str!r}, which a model file does not use here")
            problem = shape(declared)
            if problem:
                raise NpzError(f"member {name!r} {problem}")
            nbytes = math.prod(declared) * dtype.itemsize
            try:
                data = stream.read(nbytes)
                stream.read(1)  # reach the end, so the zip's checksum is verified
            except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
                raise NpzError(f"member {name!r} cannot be read: {_short(error)}") from None
            if len(data) != nbytes:
                raise NpzError(f"member {name!r} is cut short ({len(data)} of {nbytes} bytes)")
        array = np.frombuffer(data, dtype=dtype).reshape(declared, order="F" if fortran else "C")
        return np.array(array, dtype=dtype.newbyteorder("=") if dtype.kind in "biufU" else dtype, order="C")

    # ------------------------------------------------------------------ internals
    def _open_member(self, name: str) -> Any:
        info = self._members.get(name)
        if info is None:
            raise NpzError(f"member {name!r} is missing")
        if info.flag_bits & 0x1:
            raise NpzError(f"member {name!r} is encrypted")
        if info.compress_type != zipfile.ZIP_STORED:
            raise NpzError(f"member {name!r} is compressed (model files are written uncompressed)")
        if info.file_size != info.compress_size or info.header_offset + info.file_size > self._size:
            raise NpzError(f"member {name!r} declares {info.file_size} bytes, more than the file holds "
                           "(a truncated file?)")
        assert self._zip is not None
        try:
            return self._zip.open(info)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as error:
            raise NpzError(f"member {name!r} cannot be opened: {_short(error)}") from None

    def _checked_header(self, name: str, stream: Any) -> tuple[tuple[int, ...], np.dtype, bool]:
        try:
            version = npy_format.read_magic(stream)
            if version == (1, 0):
                shape, fortran, dtype = npy_format.read_array_header_1_0(stream)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = npy_format.read_array_header_2_0(stream)
            else:
                raise ValueError(f"unknown .npy version {version}")
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError, EOFError, OSError,
                zipfile.BadZipFile) as error:
            raise NpzError(f"member {name!r} has no valid .npy header: {_short(error)}") from None
        if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise NpzError(f"member {name!r} has an invalid shape {shape!r}")
        if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
            raise NpzError(f"member {name!r} has dtype {dtype.str!r}, which a model file never uses")
        header_len = stream.tell()
        nbytes = math.prod(shape) * dtype.itemsize
        info = self._members[name]
        if header_len + nbytes != info.file_size:
            raise NpzError(f"member {name!r} declares shape {shape} ({nbytes} bytes) but holds "
                           f"{info.file_size - header_len} bytes")
        return shape, dtype, bool(fortran)


def _open(source: Any) -> tuple[Any, int]:
    """A seekable binary handle on ``source`` and its size; pipes are read into memory (bounded)."""
    if isinstance(source, (io.IOBase,)) or hasattr(source, "read"):
        try:
            seekable = bool(source.seekable())
        except (AttributeError, OSError, ValueError):
            seekable = False
        if seekable:
            start = source.tell()
            end = source.seek(0, os.SEEK_END)
            source.seek(start)
            return _Borrowed(source), end
        data = _read_bounded(source)
        return io.BytesIO(data), len(data)
    path = os.fspath(source)
    info = os.stat(path)  # FileNotFoundError etc. are told apart by the caller
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(0, "is a directory", path)
    handle = open(path, "rb")
    if stat.S_ISREG(info.st_mode):
        return handle, info.st_size
    with handle:  # a pipe or a device: read it once, bounded
        data = _read_bounded(handle)
    return io.BytesIO(data), len(data)


def _read_bounded(stream: Any) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(1 << 20)
        if not chunk:
            break
        total += len(chunk)
        if total > MAX_STREAM_BYTES:
            raise NpzError(f"the input is larger than {MAX_STREAM_BYTES >> 20} MiB, too large for a model file "
                           "read from a pipe; save it to a file")
        chunks.append(bytes(chunk))
    return b"".join(chunks)


class _Borrowed(io.RawIOBase):
    """A caller's open file, used without closing it."""

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self._inner = inner

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._inner.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()

    def close(self) -> None:  # the caller owns the file
        super().close()


def _short(error: BaseException) -> str:
    text = " ".join(str(error).split())[:160]
    return text or type(error).__name__
