"""The chunked CSV read gives the plain ``pd.read_csv`` frame bit for bit, or steps aside.

Tables are small; the chunk is a few rows (a private parameter), so chunk boundaries fall
everywhere: inside quoted fields' neighbourhoods, before a late missing cell, a late bad line.
"""

from __future__ import annotations

import csv
import functools
import io
import random
import warnings

import numpy as np
import pandas as pd
import pytest

from dami_np.cli import _console, _csv_chunks, _table_reader
from dami_np.cli._csv_chunks import internal_chunk_rows, read_csv_chunked
from dami_np.cli._errors import CliError


def _options(names, *, sep=",", decimal=".", text=(), na=()):
    """The options ``_read_csv`` passes (same markers per column)."""
    default = sorted(_table_reader._PANDAS_NA)
    return dict(sep=sep, header=0, skiprows=0, names=list(names), index_col=False,
                dtype={n: str for n in names if n in text}, keep_default_na=False,
                na_values={n: ([""] if n in text else default) + list(na) for n in names},
                skipinitialspace=True, skip_blank_lines=False, compression=None, encoding="utf-8",
                decimal=decimal, encoding_errors="strict")


def _plain(text: str, options: dict) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(text.encode()), **options)


def _chunked(text: str, options: dict, rows: int) -> pd.DataFrame | None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the chunked read never lets a warning out
        return read_csv_chunked(io.BytesIO(text.encode()), options, chunk_rows=rows)


def _assert_same_frame(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert list(got.dtypes) == list(want.dtypes)
    assert got.columns.dtype == want.columns.dtype and list(got.columns) == list(want.columns)
    assert isinstance(got.index, pd.RangeIndex) and got.index.equals(want.index)
    for name in want.columns:
        if isinstance(want[name].dtype, np.dtype) and want[name].dtype != object:
            assert got[name].to_numpy().tobytes() == want[name].to_numpy().tobytes(), name


def _csv_text(header, rows, sep=",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def test_internal_chunk_rows_is_pandas_low_memory_chunk():
    """The chunk size is chosen from pandas' own internal chunk (a power of two): checked on the
    parser, which reads a ``width``-field table in pieces of exactly that many rows."""
    for width, n_rows in ((1, 530_000), (3, 270_000), (51, 40_000), (3000, 800)):
        expected = internal_chunk_rows(width)
        assert expected & (expected - 1) == 0
        text = ",".join(f"c{i}" for i in range(width)) + "\n" + ("," * (width - 1) + "1\n") * n_rows
        reader = pd.read_csv(io.StringIO(text), iterator=True)
        try:
            pieces = reader._engine._reader.read_low_memory(None)
        finally:
            reader.close()
        lengths = [len(next(iter(piece.values()))) for piece in pieces]
        assert lengths[0] == expected and sum(lengths) == n_rows, (width, lengths[:3])


def _random_table(rng: random.Random, n_rows: int, sep: str, decimal: str):
    """A header, rows (lists of cells) and the text columns, with every kind of column ``dami``
    tables hold, missing markers included; some columns keep one dtype, some do not."""
    def number(value: float) -> str:
        text = repr(value) if rng.random() < 0.8 else f"{value:.3e}"
        return text.replace(".", decimal) if decimal != "." else text

    na = ["", "NA", "nan", "NaN", "?", " ", "null", "N/A"]
    steady = ["float", "float_na", "int", "bool", "words", "date", "id", "quoted", "neg_zero"]
    unsteady = ["int_late_na", "bool_late_na", "text", "mixed_late", "quoted_empty"]  # dtype per chunk varies
    rng.shuffle(steady)
    kinds = steady[: rng.randint(1, len(steady))] + ["label"]
    if rng.random() < 0.5:
        kinds.append(rng.choice(unsteady))
    rng.shuffle(kinds)
    late = rng.randint(0, n_rows - 1)
    columns = []
    for kind in kinds:
        cells = []
        for row in range(n_rows):
            if kind == "float":
                cells.append(number(rng.gauss(0, 10 ** rng.randint(-3, 6))))
            elif kind == "float_na":
                cells.append(rng.choice(na) if rng.random() < 0.2 else number(rng.uniform(-1, 1)))
            elif kind == "int":
                cells.append(str(rng.randint(-10**12, 10**12)))
            elif kind == "int_late_na":
                cells.append("" if row == late else str(rng.randint(0, 9)))
            elif kind == "bool":
                cells.append(rng.choice(["True", "False", "true", "FALSE"]))
            elif kind == "bool_late_na":
                cells.append(rng.choice(["True", "False"]) if row != late else "")
            elif kind == "words":
                cells.append(rng.choice(["red", "green", "NA", "blue", "none", "n/a x"]))
            elif kind == "text":
                cells.append(rng.choice(["red", "green", "NA", "blue", "", "none", "1"]))
            elif kind == "date":
                cells.append(f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
            elif kind == "label":
                cells.append(rng.choice(["cat", "dog", "", "NA", "0", "1.5", " bird "]))
            elif kind == "id":
                cells.append(f"r{row}")
            elif kind == "mixed_late":
                cells.append("x" if row == late else number(rng.random()))
            elif kind == "quoted":
                cells.append(rng.choice([f"a{sep}b", "two\nlines", 'say "hi"', "plain", f" {sep}"]))
            elif kind == "quoted_empty":
                cells.append(rng.choice([f"a{sep}b", "two\nlines", "plain", ""]))
            else:  # neg_zero
                cells.append(rng.choice(["-0.0", "0.0", "1e-320", "inf", "-inf", "-1.5e308"]))
        columns.append(cells)
    header = [f"{kind}_{i}" for i, kind in enumerate(kinds)]
    text_columns = [h for h in header if h.startswith(("label", "id"))]
    return header, [list(row) for row in zip(*columns)], text_columns


@pytest.mark.parametrize("seed", range(40))
def test_random_tables_same_frame_or_fallback(seed):
    rng = random.Random(seed)
    sep = rng.choice([",", ";", "\t", "|"])
    decimal = "," if sep == ";" and rng.random() < 0.7 else "."
    header, rows, text = _random_table(rng, rng.randint(1, 40), sep, decimal)
    options = _options(header, sep=sep, decimal=decimal, text=text, na=rng.choice([(), ("?",), ("?", "-")]))
    source = _csv_text(header, rows, sep)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _plain(source, options)
    for rows_per_chunk in (1, 2, 4, 8, 64):
        got = _chunked(source, options, rows_per_chunk)
        if got is not None:
            _assert_same_frame(got, want)
    got = _chunked(source, options, 64)  # one chunk: every dtype is the whole file's
    if all(want[c].dtype in (np.float64, np.int64, bool) or want[c].dtype == "str" for c in want.columns) \
            and not any(_has_large_float(want[c]) for c in want.columns):
        assert got is not None


def _has_large_float(column: pd.Series) -> bool:
    values = column.to_numpy()
    return values.dtype == np.float64 and bool((np.abs(values[np.isfinite(values)]) >= 2**53).any())


def test_late_missing_int_reads_as_float64_like_pandas():
    """Ints in the first chunks, one missing cell late: the whole column is float64 (NaN) in the
    plain read (pandas casts its own int64 pieces); the chunked read casts the same way."""
    text = "a,b\n" + "".join(f"{i},{i}\n" for i in range(9)) + "9,\n"
    options = _options(["a", "b"])
    want = _plain(text, options)
    assert want["b"].dtype == np.float64
    for rows in (1, 4, 16):
        _assert_same_frame(_chunked(text, options, rows), want)


def test_large_ints_cast_to_float_fall_back():
    """int64 pieces >= 2**53 that would be cast to float64 (a missing cell elsewhere): hand back."""
    text = "a,b\n" + "".join(f"{2**53 + 1 + i},{i}\n" for i in range(4)) + ",1\n"
    options = _options(["a", "b"])
    assert _chunked(text, options, 4) is None
    assert _chunked(text.replace(",1\n", "5,1\n"), options, 4) is not None  # all int64: nothing cast


@pytest.mark.parametrize("late", ["x", "", "True"])
def test_column_whose_chunks_disagree_falls_back(late):
    """Numbers then text, numbers then a missing bool, bools then a number: the plain read's
    dtype comes from the whole column; chunks that disagree hand the read back."""
    first = "True" if late == "" else "1.5"
    text = "a,b\n" + f"{first},1\n" * 8 + f"{late},2\n"
    options = _options(["a", "b"])
    assert _chunked(text, options, 4) is None


def test_large_integers_in_a_float_column_fall_back():
    """Integers >= 2**53 parse differently as int64-then-float and as float: hand them back."""
    text = "a,b\n" + "".join(f"{2**53 + 1 + i},0.5\n" for i in range(4)) + "0.5,0.5\n"
    options = _options(["a", "b"])
    assert _chunked(text, options, 8) is None
    small = "a,b\n" + "".join(f"{2**52 + i},0.5\n0.5,{i}\n" for i in range(4))  # a float in every chunk
    _assert_same_frame(_chunked(small, options, 2), _plain(small, options))


def test_wide_table_internal_chunk_numeric_text_falls_back():
    """A wide table makes pandas' internal chunk short (256 rows at 2,048 fields): a text column
    whose first internal chunk holds only numbers is object (with a DtypeWarning) in the plain
    read; the chunked read, whatever its chunk, must not turn it into ``str``."""
    width = 2048
    internal = internal_chunk_rows(width)
    assert internal == 256
    n_rows = internal + 8
    filler = ",".join("1" for _ in range(width - 1))
    lines = [",".join(f"c{i}" for i in range(width))]
    lines += [f"{row if row < internal else 'w' + str(row)},{filler}" for row in range(n_rows)]
    text = "\n".join(lines) + "\n"
    options = _options([f"c{i}" for i in range(width)])
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        want = _plain(text, options)
    assert want["c0"].dtype == object
    for rows in (64, 256, 512):
        got = _chunked(text, options, rows)
        assert got is None or got["c0"].dtype == object


def test_wide_table_text_column_chunks_join_as_plain_read():
    """Text in every internal chunk: ``str`` in the plain read, the same in chunks of any size."""
    width = 2048
    filler = ",".join("1" for _ in range(width - 2))
    lines = [",".join(f"c{i}" for i in range(width))]
    lines += [f"w{row},{'' if row == 300 else row},{filler}" for row in range(520)]
    text = "\n".join(lines) + "\n"
    options = _options([f"c{i}" for i in range(width)])
    want = _plain(text, options)
    for rows in (128, 256, 1024):
        got = _chunked(text, options, rows)
        if rows == 1024:
            _assert_same_frame(got, want)
        elif got is not None:
            _assert_same_frame(got, want)


def test_frame_has_one_block_per_column_and_owns_its_columns():
    """Each column is its own array (freed on its own), not a row of one consolidated block."""
    text = "a,b,c\n" + "".join(f"{i}.5,{i},t{i}\n" for i in range(20))
    frame = _chunked(text, _options(["a", "b", "c"], text=("c",)), 4)
    assert frame is not None and frame._mgr.nblocks == 3
    a = frame["a"].to_numpy()
    assert a.base is None or a.base.size == a.size


def test_bad_chunk_size_is_refused():
    with pytest.raises(ValueError, match="power of two"):
        read_csv_chunked(io.BytesIO(b"a\n1\n"), _options(["a"]), chunk_rows=3)


# --- through read_table: the same Table, notes, warnings and errors as the plain read ---------

def _read_both(path, monkeypatch, capsys, **kwargs):
    """read_table's result (or CliError message) and console output, plain and in 2-row chunks."""
    results = []
    used = []

    def chunked(*args, **kw):
        frame = read_csv_chunked(*args, **{**kw, "chunk_rows": 2})
        used.append(frame is not None)
        return frame

    for mode in ("plain", "chunked"):
        _console.set_verbosity(_console.NORMAL)  # the same notes again (they print once per text)
        with monkeypatch.context() as patch:
            if mode == "chunked":
                patch.setattr(_table_reader, "CHUNKED_MIN_BYTES", 0)
                patch.setattr(_table_reader, "read_csv_chunked", chunked)
            else:
                patch.setattr(_table_reader, "CHUNKED_MIN_BYTES", 1 << 62)
            try:
                outcome = _table_reader.read_table(str(path), **kwargs)
            except CliError as error:
                outcome = str(error)
            results.append((outcome, capsys.readouterr().err))
    return results, used


@pytest.mark.parametrize("name, body, kwargs, chunked", [
    ("plain.csv", "x,y,label\n" + "".join(f"{i}.25,{i % 3},{'' if i % 4 else 'a'}\n" for i in range(9)),
     {"text_columns": ["label"]}, True),
    ("semi.csv", "x;y;label\n" + "".join(f"{i},5;{i},25;NA\n" for i in range(7)) + ";;\n1,5;2,5;b\n",
     {"text_columns": ["label"]}, True),
    ("index.csv", ",x,label\n" + "".join(f"{i},{i}.5,c\n" for i in range(7)), {"text_columns": ["label"]}, True),
    ("na.csv", "x,t,label\n" + "".join(f"{'-' if i == 5 else i},NA,c\n" for i in range(7)),
     {"text_columns": ["label"], "na_values": ["-"]}, True),
    ("bool_late_na.csv", "x,b,label\n" + "".join(f"{i}.5,True,c\n" for i in range(7)) + "1.5,,c\n",
     {"text_columns": ["label"]}, False),
    ("badline.csv", "x,label\n" + "".join(f"{i},c\n" for i in range(7)) + "1,2,3\n4,c\n",
     {"text_columns": ["label"]}, False),
    ("header_only.csv", "x,label\n", {"text_columns": ["label"]}, False),
    ("cut.csv", "x,y,label\n" + "".join(f"{i},{i}.5,c\n" for i in range(7)) + "8", {"text_columns": ["label"]}, True),
    ("cut_int.csv", "x,y,label\n" + "".join(f"{i},{i},c\n" for i in range(7)) + "8", {"text_columns": ["label"]},
     True),
])
def test_read_table_same_result_plain_and_chunked(tmp_path, monkeypatch, capsys, name, body, kwargs, chunked):
    path = tmp_path / name
    path.write_text(body)
    ((plain, plain_err), (got, got_err)), used = _read_both(path, monkeypatch, capsys, **kwargs)
    assert used == [chunked]
    assert got_err == plain_err
    if isinstance(plain, str):
        assert got == plain
        return
    _assert_same_frame(got.frame, plain.frame)
    assert np.array_equal(got.rows, plain.rows) and got.notes == plain.notes


def test_read_table_decode_error_late_same_message(tmp_path, monkeypatch, capsys):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"x,label\n" + b"".join(b"%d,c\n" % i for i in range(9)) + b"1,caf\xe9\n")
    (plain, _), (got, _) = _read_both(path, monkeypatch, capsys, text_columns=["label"])[0]
    assert isinstance(plain, str) and "not utf-8" in plain and got == plain


def test_large_file_is_read_in_chunks_by_default(tmp_path, monkeypatch):
    """Above the size threshold ``_read_csv`` takes the chunked read (default chunk size)."""
    path = tmp_path / "t.csv"
    path.write_text("x,label\n" + "".join(f"{i}.5,c\n" for i in range(300)))
    calls = []
    real = _csv_chunks.read_csv_chunked
    monkeypatch.setattr(_table_reader, "CHUNKED_MIN_BYTES", 100)
    monkeypatch.setattr(_table_reader, "read_csv_chunked",
                        functools.wraps(real)(lambda *a, **k: calls.append(k) or real(*a, **k)))
    table = _table_reader.read_table(str(path), text_columns=["label"])
    assert calls == [{}]  # the default chunk size
    assert table.frame["x"].tolist() == [i + 0.5 for i in range(300)]


# --- two halves at once (_csv_split): a safe cut, the same frame --------------------------------

def test_whole_record_header_lines():
    """Only a line that is one whole record lets the data start be found without parsing."""
    from dami_np.cli._csv_split import _whole_record

    record = _whole_record(",")
    assert record.fullmatch(b'"x0","x1","label"\n') and record.fullmatch(b'a, "b,""c""" ,d\n')
    for line in (b'a"b,c\n', b'"a"b,c\n', b'"a\n', b"a,b\r\n", b"a,b"):
        assert not record.fullmatch(line), line
    assert _whole_record(";").fullmatch(b"sep=;\n")


def test_split_point_is_a_record_edge_on_a_chunk_multiple(tmp_path):
    from dami_np.cli._csv_split import data_start, split_point

    path = tmp_path / "t.csv"
    body = "".join(f"{i},{'' if i % 7 == 0 else i}\n" for i in range(1001))
    path.write_text('"a","b"\n' + body)
    start = data_start(path, 1, ",")
    assert start == len('"a","b"\n')
    rows, offset = split_point(path, start, 8, ",")
    data = path.read_bytes()
    assert rows % 8 == 0 and 300 < rows < 700 and data[start:offset].count(b"\n") == rows
    assert data[offset:].startswith(f"{rows},".encode())
    for first in ('1,x"2"\n', '1,"x\ny"\n', '1, "2"\n', "1,2\r\n"):  # no cut known safe
        path.write_text("a,b\n" + first + body)
        assert split_point(path, data_start(path, 1, ","), 8, ",") is None, first
    path.write_text('a,b\n1,"2"\n"x,y",3\n' + body)  # simply quoted fields: the newline count holds
    rows, offset = split_point(path, data_start(path, 1, ","), 8, ",")
    assert path.read_bytes()[offset:].startswith(f"{rows - 2},".encode())
    path.write_text("a,b\n" + body + '1,"x\ny"\n')  # anything in the second half: fine
    assert split_point(path, data_start(path, 1, ","), 8, ",") is not None


@pytest.mark.parametrize("line, simple", [
    (b'1,"a"\n', True), (b'"a,b",""\n', True), (b'"a""b",1\n', False), (b'1,a"b"\n', False),
    (b'1,"a" \n', False), (b'1,"a\n', False), (b'"a"b,1\n', False), (b'1;"a;b"\n', False),
])
def test_simple_quotes(line, simple):
    from dami_np.cli._csv_split import _simple_quotes

    data = np.frombuffer(b"1,2\n" + line + b"3,4\n", dtype=np.uint8)
    assert _simple_quotes(data, data == ord("\n"), ord("\n"), ",") is simple


def _random_file_table(rng: random.Random, path, sep: str, decimal: str):
    header, rows, text = _random_table(rng, rng.randint(20, 200), sep, decimal)
    if rng.random() < 0.3:
        rows.insert(len(rows) // 2, [""] * len(header))  # a blank line near the cut
    body = _csv_text(header, rows, sep)
    if rng.random() < 0.3:
        body = body.replace(sep, f"{sep} ")  # skipinitialspace
    path.write_bytes(("\ufeff" if rng.random() < 0.2 else "").encode() + body.encode())
    return header, text


@pytest.mark.parametrize("seed", range(30))
def test_two_halves_same_frame_as_plain_read(tmp_path, monkeypatch, seed):
    """Random files read as two halves at once (chunks of a few rows) give the plain read's
    frame, or step aside; most of them are cut."""
    from dami_np.cli import _csv_split

    rng = random.Random(1000 + seed)
    sep = rng.choice([",", ";", "\t"])
    decimal = "," if sep == ";" else "."
    path = tmp_path / "t.csv"
    header, text = _random_file_table(rng, path, sep, decimal)
    options = _options(header, sep=sep, decimal=decimal, text=text, na=("?",))
    cuts = []
    real = _csv_split.split_point
    monkeypatch.setattr(_csv_chunks, "_cores", lambda: 2)
    monkeypatch.setattr(_csv_chunks, "split_point", lambda *a: cuts.append(real(*a)) or cuts[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = pd.read_csv(path, **options)
    for rows in (2, 8):
        got = read_csv_chunked(path, options, chunk_rows=rows, split_min_bytes=0)
        if got is not None:
            _assert_same_frame(got, want)
    if not any("quoted" in name for name in header):
        assert cuts and cuts[0] is not None


def test_two_halves_through_read_table(tmp_path, monkeypatch):
    """A file cut in two: read_table gives the plain read's Table (rows, notes) and the cut's
    second half starts on a chunk edge."""
    path = tmp_path / "t.csv"
    path.write_text(",x,y,label\n" + "".join(f"{i},{i}.5,{'' if i == 150 else i},{'a' if i % 9 else ''}\n"
                                             for i in range(200)) + ",,,\n")
    want = _table_reader.read_table(str(path), text_columns=["label"])
    monkeypatch.setattr(_csv_chunks, "_cores", lambda: 2)
    monkeypatch.setattr(_table_reader, "CHUNKED_MIN_BYTES", 0)
    monkeypatch.setattr(_table_reader, "read_csv_chunked",
                        functools.partial(read_csv_chunked, chunk_rows=4, split_min_bytes=0))
    got = _table_reader.read_table(str(path), text_columns=["label"])
    _assert_same_frame(got.frame, want.frame)
    assert np.array_equal(got.rows, want.rows) and got.notes == want.notes


def test_two_halves_bom_and_quoted_header(tmp_path, monkeypatch):
    """A UTF-8 byte-order mark before a quoted header (Excel's 'CSV UTF-8'): still cut, same frame."""
    from dami_np.cli._csv_split import data_start

    path = tmp_path / "t.csv"
    path.write_bytes(b'\xef\xbb\xbf"a","b","label"\n'
                     + b"".join(b'%d.5,%d,"%s"\n' % (i, i, b"c" if i % 3 else b"") for i in range(100)))
    assert data_start(path, 1, ",") == len(b'\xef\xbb\xbf"a","b","label"\n')
    monkeypatch.setattr(_csv_chunks, "_cores", lambda: 2)
    options = _options(["a", "b", "label"], text=("label",))
    got = read_csv_chunked(path, options, chunk_rows=8, split_min_bytes=0)
    _assert_same_frame(got, pd.read_csv(path, **options))


def test_two_halves_one_gives_up_both_stop(tmp_path, monkeypatch):
    """A half whose chunks disagree ends the read with None and sets the stop the other half
    checks before each chunk (a half given a set stop reads nothing)."""
    import threading

    path = tmp_path / "t.csv"
    path.write_text("a,b\n" + "True,1\n" * 10 + ",1\n" + "True,1\n" * 200)
    monkeypatch.setattr(_csv_chunks, "_cores", lambda: 2)
    assert read_csv_chunked(path, _options(["a", "b"]), chunk_rows=4, split_min_bytes=0) is None
    path.write_text("a,b\n" + "True,1\n" * 20)
    stop = threading.Event()
    assert _csv_chunks._read_columns(path, _options(["a", "b"]), 4, stop) is not None
    stop.set()
    chunks_read = []
    real = _csv_chunks._chunk_columns
    monkeypatch.setattr(_csv_chunks, "_chunk_columns", lambda chunk: chunks_read.append(len(chunk)) or real(chunk))
    assert _csv_chunks._read_columns(path, _options(["a", "b"]), 4, stop) is None and chunks_read == []
