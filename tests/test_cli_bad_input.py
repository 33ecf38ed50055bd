"""Messy real tables and hostile input, through the CLI's ``main()`` in-process (fast).

Each test pins one behaviour of issue 18: nothing silently wrong (labels, ids, positions,
scales), every problem one line on stderr with exit code 2, checks before any work.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dami_np.cli import main
from dami_np.cli import _select as cli_select
from _cli_checks import assert_one_error_line  # noqa: E402

STRATEGY = ["--strategy", "margin"]  # a model-based strategy that needs no K-Center kernel


def make_table(n: int = 80, labeled: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    label = np.where(a + 0.5 * b > 0, "yes", "no").astype(object)
    label[labeled:] = None
    return pd.DataFrame({"key": [f"k{i:03d}" for i in range(n)], "a": a, "b": b, "color": color, "label": label})


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def picks(out: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(out), keep_default_na=False, na_values=[""])


@pytest.fixture()
def no_compute(monkeypatch):
    """Fail the test if the CLI reaches the expensive part (model fit and picking)."""

    def refuse(*args, **kwargs):
        raise AssertionError("the CLI started computing before checking its arguments")

    monkeypatch.setattr(cli_select, "_select", refuse)
    from dami_np import _simulate

    monkeypatch.setattr(_simulate, "_simulate", refuse)


def select_args(path: Path, budget: int = 5, *extra: str) -> list[str]:
    return ["select", str(path), "--label", "label", "--budget", str(budget), *STRATEGY, *extra]


# ---------------------------------------------------------------------- item 1: report columns
@pytest.mark.parametrize("name", ["row", "pick", "distance", "probability"])
def test_an_id_named_like_a_report_column_does_not_overwrite_it(tmp_path, capsys, name):
    frame = make_table().rename(columns={"key": name})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code, out, err = run(capsys, *select_args(path, 6, "--id", name))
    assert code == 0, err
    report = picks(out)
    assert f"{name}_id" in report.columns and f"'{name}_id'" in err
    rows = report["row"].to_numpy()
    assert (rows >= 40).all() and len(set(rows)) == 6  # positions intact
    assert list(report[f"{name}_id"]) == [f"k{r:03d}" for r in rows]
    assert list(report["pick"]) == list(range(1, 7))


# ---------------------------------------------------------------------- item 2: label texts
def test_NA_None_null_are_real_classes_and_only_empty_cells_are_unlabeled(tmp_path, capsys):
    frame = make_table()
    labels = frame["label"].to_numpy(dtype=object)
    classes = np.array(["NA", "None", "null", "N/A", "nan"], dtype=object)
    labels[:40] = classes[np.arange(40) % 5]
    frame["label"] = labels
    frame["key"] = ["NA"] + [f"k{i:03d}" for i in range(1, 80)]  # an id that reads like NA too
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    # the pool is the 40 empty cells: a budget of 41 is refused, 40 is fine
    code, _, err = run(capsys, *select_args(path, 41))
    assert_one_error_line(code, err, "only 40 rows")
    code, out, err = run(capsys, *select_args(path, 3, "--id", "key"))
    assert code == 0, err
    report = picks(out)
    assert (report["row"] >= 40).all()
    assert set(report["predicted"]) <= set(classes)  # the model learned the five classes
    assert "'NA', which counts as a class" in err and "--na-values NA" in err


def test_placeholders_become_unlabeled_only_with_na_values(tmp_path, capsys):
    frame = make_table()
    labels = frame["label"].to_numpy(dtype=object)
    labels[30:40] = "?"
    frame["label"] = labels
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code, _, err = run(capsys, *select_args(path, 41))
    assert_one_error_line(code, err, "only 40 rows")  # '?' is a class by default...
    code, out, err = run(capsys, *select_args(path, 2))
    assert code == 0
    assert "10 row(s) of label column 'label' hold '?'" in err and "--na-values '?'" in err
    code, out, err = run(capsys, *select_args(path, 50, "--na-values", "?"))  # ...and unlabeled when asked
    assert code == 0, err
    rows = picks(out)["row"]
    assert rows.is_unique and (rows >= 30).all() and len(rows) == 50
    assert "hold '?'" not in err


def test_classes_differing_by_case_or_spaces_are_warned_about(tmp_path, capsys):
    frame = make_table()
    labels = frame["label"].to_numpy(dtype=object)
    labels[0], labels[1], labels[2] = "Yes", "yes ", "YES"
    frame["label"] = labels
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code, _, err = run(capsys, *select_args(path, 2))
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("dami: warning:")]
    assert any("differ only by case" in w and "'YES'" in w and "'Yes'" in w for w in warnings), err
    assert any("surrounding spaces" in w and "'yes '" in w for w in warnings), err


# ---------------------------------------------------------------------- item 3: extreme scales
@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_extreme_but_finite_columns_give_the_picks_of_the_rescaled_table(tmp_path, capsys):
    frame = make_table().drop(columns=["key", "color"])
    plain, huge, tiny = tmp_path / "plain.csv", tmp_path / "huge.csv", tmp_path / "tiny.csv"
    frame.to_csv(plain, index=False)
    frame.assign(a=frame["a"] * 2.0**1020).to_csv(huge, index=False)  # around 1e307
    frame.assign(b=frame["b"] * 2.0**-1040).to_csv(tiny, index=False)  # denormal-adjacent, 1e-313
    outs = []
    for path in (plain, huge, tiny):
        code, out, err = run(capsys, *select_args(path, 6))
        assert code == 0, err
        assert "Warning" not in err and "/" not in err.replace(str(tmp_path), ""), err
        outs.append(picks(out)["row"].tolist())
    assert outs[1] == outs[0] and outs[2] == outs[0]


# ---------------------------------------------------------------------- item 4: index, empty rows
def test_a_saved_pandas_index_column_is_dropped_with_a_note(tmp_path, capsys):
    frame = make_table()
    clean, indexed = tmp_path / "clean.csv", tmp_path / "indexed.csv"
    frame.to_csv(clean, index=False)
    frame.to_csv(indexed)  # index=True: an unnamed first column 0..79
    _, expected, _ = run(capsys, *select_args(clean, 5, "--id", "key"))
    code, out, err = run(capsys, *select_args(indexed, 5, "--id", "key"))
    assert code == 0, err
    assert out == expected
    assert "dropped the first column, which has no name" in err


def test_empty_rows_are_ignored_and_the_other_rows_keep_their_numbers(tmp_path, capsys):
    frame = make_table()
    clean = tmp_path / "clean.csv"
    frame.to_csv(clean, index=False)
    lines = clean.read_text().splitlines()
    # an empty record after data row 9 (line 11), a blank line after row 59, trailing ",,,," rows
    messy_lines = lines[:11] + [",,,,"] + lines[11:61] + [""] + lines[61:] + [",,,,", " , , ,,"]
    messy = tmp_path / "messy.csv"
    messy.write_text("\n".join(messy_lines) + "\n")
    _, expected, _ = run(capsys, *select_args(clean, 8, "--id", "key"))
    code, out, err = run(capsys, *select_args(messy, 8, "--id", "key"))
    assert code == 0, err
    assert "ignored 4 empty row(s)" in err
    want, got = picks(expected), picks(out)
    assert list(got["key"]) == list(want["key"])  # the same picks
    shift = np.where(want["row"] >= 60, 2, np.where(want["row"] >= 10, 1, 0))
    assert list(got["row"]) == list(want["row"] + shift)  # numbered as in the file, empty rows counted
    # the 'row' of every pick points at its line in the file (header = line 0)
    for row, key in zip(got["row"], got["key"]):
        assert messy_lines[row + 1].startswith(key + ",")


# ---------------------------------------------------------------------- item 5, 11: output formats
def test_out_tsv_is_tab_separated_and_formats_agree(tmp_path, capsys):
    path = tmp_path / "t.csv"
    make_table().to_csv(path, index=False)
    _, csv_out, _ = run(capsys, *select_args(path, 4, "--id", "key"))
    expected = picks(csv_out)
    code, _, err = run(capsys, *select_args(path, 4, "--id", "key", "--out", str(tmp_path / "p.tsv")))
    assert code == 0, err
    text = (tmp_path / "p.tsv").read_text()
    assert text.splitlines()[0] == "\t".join(expected.columns)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "p.tsv", sep="\t"), expected)
    code, _, err = run(capsys, *select_args(path, 4, "--id", "key", "--out", str(tmp_path / "p.tsv.gz")))
    assert code == 0, err
    assert gzip.decompress((tmp_path / "p.tsv.gz").read_bytes()).decode() == text
    code, json_out, err = run(capsys, *select_args(path, 4, "--id", "key", "--format", "json"))
    assert code == 0, err
    records = json.loads(json_out)
    assert [r["row"] for r in records] == list(expected["row"])
    assert [r["distance"] for r in records] == list(expected["distance"])  # full precision
    code, _, err = run(capsys, *select_args(path, 4, "--id", "key", "--format", "tsv"))
    assert code == 0 and err == ""


def test_parquet_output_round_trips(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    path = tmp_path / "t.csv"
    make_table().to_csv(path, index=False)
    _, csv_out, _ = run(capsys, *select_args(path, 4, "--id", "key"))
    code, _, err = run(capsys, *select_args(path, 4, "--id", "key", "--out", str(tmp_path / "p.parquet")))
    assert code == 0, err
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "p.parquet"), picks(csv_out), check_dtype=False)


@pytest.mark.parametrize(
    ("out", "fmt", "fragment"),
    [
        ("picks.xlsx", None, "unknown output format"),
        ("picks.csv", "parquet", "--format parquet but --out"),
        ("missing_dir/picks.csv", None, "does not exist"),
        ("new_dir/", "csv", "names a directory"),
    ],
)
def test_output_problems_are_found_before_any_work(tmp_path, capsys, no_compute, out, fmt, fragment):
    path = tmp_path / "t.csv"
    make_table().to_csv(path, index=False)
    extra = ["--out", f"{tmp_path}/{out}"] + (["--format", fmt] if fmt else [])
    code, _, err = run(capsys, *select_args(path, 3, *extra))
    assert_one_error_line(code, err, fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_read_only_output_directory_and_file_are_refused_before_any_work(tmp_path, capsys, no_compute):
    if os.geteuid() == 0:
        locked = Path("/proc/self")  # not writable even for root
        target = locked / "picks.csv"
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        target = locked / "picks.csv"
    path = tmp_path / "t.csv"
    make_table().to_csv(path, index=False)
    code, _, err = run(capsys, *select_args(path, 3, "--out", str(target)))
    assert_one_error_line(code, err, "cannot write into")
    existing = tmp_path / "old.csv"
    existing.write_text("old\n")
    existing.chmod(0o444)
    if os.geteuid() != 0:
        code, _, err = run(capsys, *select_args(path, 3, "--out", str(existing)))
        assert_one_error_line(code, err, "read-only")
    assert existing.read_text() == "old\n"


def test_a_failing_write_is_one_line_and_leaves_no_temporary_file(tmp_path, capsys, monkeypatch):
    from dami_np.cli import _table_writer as _table

    path = tmp_path / "t.csv"
    make_table().to_csv(path, index=False)
    out = tmp_path / "picks.csv"
    out.write_text("previous run\n")

    def disk_full(src, dst):
        raise OSError(28, "No space left on device", str(src))

    monkeypatch.setattr(_table.os, "replace", disk_full)
    code, _, err = run(capsys, *select_args(path, 3, "--id", "key", "--out", str(out)))
    assert_one_error_line(code, err, "cannot write", "picks.csv", "No space left on device")
    assert out.read_text() == "previous run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["picks.csv", "t.csv"]


def test_sigterm_while_writing_removes_the_temporary_file(tmp_path, capsys, monkeypatch):
    import signal

    from dami_np.cli import _table_writer as _table

    path = tmp_path / "t.csv"
    make_table().to_csv(path, index=False)
    out = tmp_path / "picks.csv"
    out.write_text("previous run\n")
    real_write_bytes = Path.write_bytes

    def write_then_terminate(self, data):
        real_write_bytes(self, data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGTERM)  # what timeout, docker stop and CI cancellation send
        real_write_bytes(self, data)

    monkeypatch.setattr(_table.Path, "write_bytes", write_then_terminate)
    before = signal.getsignal(signal.SIGTERM)
    code, _, err = run(capsys, *select_args(path, 3, "--out", str(out)))
    assert code == 128 + signal.SIGTERM, err
    assert "SIGTERM" in err and "Traceback" not in err
    assert out.read_text() == "previous run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["picks.csv", "t.csv"]
    assert signal.getsignal(signal.SIGTERM) == before  # main() puts the previous handler back


def test_new_files_follow_the_umask_and_replaced_files_keep_their_mode(tmp_path, capsys):
    path = tmp_path / "t.csv"
    make_table().to_csv(path, index=False)
    old_mask = os.umask(0o027)
    try:
        code, _, err = run(capsys, *select_args(path, 2, "--out", str(tmp_path / "new.csv")))
        assert code == 0, err
        assert stat.S_IMODE((tmp_path / "new.csv").stat().st_mode) == 0o640
        kept = tmp_path / "kept.csv"
        kept.write_text("old\n")
        kept.chmod(0o664)
        code, _, err = run(capsys, *select_args(path, 2, "--out", str(kept)))
        assert code == 0, err
        assert stat.S_IMODE(kept.stat().st_mode) == 0o664 and kept.read_text() != "old\n"
    finally:
        os.umask(old_mask)


def test_out_through_a_symlink_writes_its_target(tmp_path, capsys):
    path = tmp_path / "t.csv"
    make_table().to_csv(path, index=False)
    (tmp_path / "runs").mkdir()
    real = tmp_path / "runs" / "picks-1.csv"
    real.write_text("old\n")
    link = tmp_path / "latest.csv"
    link.symlink_to(real)
    code, _, err = run(capsys, *select_args(path, 2, "--out", str(link)))
    assert code == 0, err
    assert link.is_symlink() and real.read_text().startswith("row,")


# ---------------------------------------------------------------------- item 10: unusable columns
def test_every_unusable_column_is_reported_at_once_with_cli_advice(tmp_path, capsys, no_compute):
    n = 150
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "customer": [f"c{i:04d}" for i in range(n)],
        "note": [f"called on day {i}, said {rng.integers(1000)}" for i in range(n)],
        "a": rng.normal(size=n),
        "blank": [None] * n,
        "age": [str(v) for v in rng.integers(20, 70, size=n - 5)] + ["unknown"] * 5,
        "label": ["p", "q"] * 20 + [None] * (n - 40),
    })
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code, _, err = run(capsys, "select", str(path), "--label", "label", "--budget", "3")
    assert_one_error_line(code, err, "4 columns cannot be used", "'customer'", "'note'", "'blank'", "'age'",
                          "--exclude customer,note,blank,age", "--id", "--na-values unknown")
    assert "X.drop" not in err and "max_categories" not in err


def test_exclude_features_and_dates(tmp_path, capsys):
    n = 80
    frame = make_table(n)
    frame["created"] = pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d")
    frame["comment"] = [f"free text {i}" for i in range(n)]
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code, out, err = run(capsys, *select_args(path, 4, "--id", "key", "--exclude", "comment"))
    assert code == 0, err  # the date column became a numeric feature, no failure
    code2, out2, _ = run(capsys, *select_args(path, 4, "--id", "key", "--features", "a,b,color,created"))
    assert code2 == 0 and out2 == out  # --features and --exclude name the same feature set
    code3, out3, _ = run(capsys, *select_args(path, 4, "--id", "key", "--exclude", "comment", "--exclude", "created"))
    frame.drop(columns=["comment", "created"]).to_csv(tmp_path / "plain.csv", index=False)
    _, plain, _ = run(capsys, *select_args(tmp_path / "plain.csv", 4, "--id", "key"))
    assert code3 == 0 and out3 == plain
    code, _, err = run(capsys, *select_args(path, 4, "--exclude", "comentt"))
    assert_one_error_line(code, err, "'comentt' not found", "did you mean 'comment'")


def test_column_names_with_commas_can_be_named(tmp_path, capsys):
    frame = make_table().rename(columns={"a": "income, net", "b": 'weird "b"'})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    _, everything, _ = run(capsys, *select_args(path, 4, "--id", "key"))
    for extra in (['--features', '"income, net","weird ""b""",color'],
                  ["--features", "income, net", "--features", 'weird "b"', "--features", "color"]):
        code, out, err = run(capsys, *select_args(path, 4, "--id", "key", *extra))
        assert code == 0, err
        assert out == everything
    code, out, err = run(capsys, *select_args(path, 4, "--id", "key", "--exclude", '"income, net"'))
    assert code == 0 and out != everything


def test_duplicate_and_empty_ids_are_warned_about(tmp_path, capsys):
    frame = make_table()
    keys = frame["key"].to_numpy(dtype=object)
    keys[50] = keys[45]
    keys[60] = ""
    frame["key"] = keys
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code, out, err = run(capsys, *select_args(path, 3, "--id", "key"))
    assert code == 0, err
    assert "duplicated value(s) (like 'k045' in data rows 45 and 50)" in err
    assert "is empty in 1 row(s) (first: data row 60)" in err


def test_identifier_like_feature_columns_are_warned_about(tmp_path, capsys):
    frame = make_table()
    frame.insert(0, "n", np.arange(1, 81))
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code, _, err = run(capsys, *select_args(path, 3))
    assert code == 0, err
    assert "column 'n' holds the row numbers" in err and "--exclude n" in err
    assert "column 'key' has a different text in every row" in err


# ---------------------------------------------------------------------- item 11: reading
def test_semicolon_csv_with_decimal_commas_is_sniffed(tmp_path, capsys):
    frame = make_table()
    comma = tmp_path / "comma.csv"
    frame.to_csv(comma, index=False)
    semi = tmp_path / "semi.csv"
    frame.to_csv(semi, index=False, sep=";", decimal=",")
    _, expected, _ = run(capsys, *select_args(comma, 5, "--id", "key"))
    code, out, err = run(capsys, *select_args(semi, 5, "--id", "key"))
    assert code == 0, err
    assert out == expected and "separated by ';'" in err
    code, out, err = run(capsys, *select_args(semi, 5, "--id", "key", "--sep", "semicolon"))
    assert code == 0 and out == expected
    code, _, err = run(capsys, *select_args(semi, 5, "--sep", ","))
    assert_one_error_line(code, err, "label column 'label' not found", "--sep semicolon")


def test_standard_input_as_table(tmp_path, capsys, monkeypatch):
    frame = make_table()
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    _, expected, _ = run(capsys, *select_args(path, 5, "--id", "key"))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(path.read_bytes())))
    code, out, err = run(capsys, *select_args(Path("-"), 5, "--id", "key"))
    assert code == 0, err
    assert out == expected


def test_compressed_or_parquet_content_is_told_by_its_first_bytes(tmp_path, capsys):
    frame = make_table()
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    _, expected, _ = run(capsys, *select_args(path, 5))
    disguised = tmp_path / "really_gzip.csv"
    disguised.write_bytes(gzip.compress(path.read_bytes()))
    code, out, err = run(capsys, *select_args(disguised, 5))
    assert code == 0, err
    assert out == expected and "gzip-compressed" in err
    zipped = tmp_path / "book.csv"
    zipped.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    code, _, err = run(capsys, *select_args(zipped, 5))
    assert_one_error_line(code, err, "zip archive", "Excel")
    parquet_named_csv = tmp_path / "p.csv"
    parquet_named_csv.write_bytes(b"PAR1" + b"\x00" * 40)
    code, _, err = run(capsys, *select_args(parquet_named_csv, 5))
    assert code == 2 and "Parquet" in err and "utf-8" not in err.lower()


def test_text_encodings(tmp_path, capsys):
    frame = make_table()
    frame["color"] = frame["color"].map({"red": "rötlich", "green": "grün", "blue": "blau"})
    utf8 = tmp_path / "utf8.csv"
    frame.to_csv(utf8, index=False)
    _, expected, _ = run(capsys, *select_args(utf8, 5))
    latin = tmp_path / "latin.csv"
    frame.to_csv(latin, index=False, encoding="latin-1")
    code, _, err = run(capsys, *select_args(latin, 5))
    assert_one_error_line(code, err, "is not utf-8 text", "--encoding")
    code, out, err = run(capsys, *select_args(latin, 5, "--encoding", "latin-1"))
    assert code == 0 and out == expected
    bom = tmp_path / "bom.csv"
    frame.to_csv(bom, index=False, encoding="utf-8-sig")
    code, out, err = run(capsys, *select_args(bom, 5))
    assert code == 0 and out == expected
    utf16 = tmp_path / "excel_unicode.txt"
    frame.to_csv(utf16, index=False, sep="\t", encoding="utf-16")
    code, out, err = run(capsys, *select_args(utf16, 5))
    assert code == 0 and out == expected, err


def test_header_names_with_spaces_and_ragged_rows(tmp_path, capsys):
    frame = make_table()
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    _, expected, _ = run(capsys, *select_args(path, 3))
    spaced = tmp_path / "spaced.csv"
    text = path.read_text().splitlines()
    spaced.write_text("\n".join([" key , a ,b,color, label "] + text[1:]) + "\n")
    code, out, err = run(capsys, *select_args(spaced, 3))
    assert code == 0 and out == expected, err
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("\n".join(text[:5] + [text[5] + ",extra"] + text[6:]) + "\n")
    code, _, err = run(capsys, *select_args(ragged, 3))
    assert_one_error_line(code, err, "line 6 has 6 fields but the header has 5")


# ---------------------------------------------------------------------- item 12 and usage
@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["select", "t.csv", "--label", "label", "--budget", "two"], "argument --budget: invalid int value: 'two'"),
        (["select", "t.csv", "--label", "label"], "the following arguments are required: --budget"),
        (["select", "t.csv", "--label", "label", "--budget", "2", "--seed", "-1"], "--seed must be between 0"),
        (["select", "t.csv", "--label", "label", "--budget", "2", "--sep", "ab"], "--sep must be one character"),
        (["select", "t.csv", "--label", "label", "--budget", "2", "--features", ","], "--features is empty"),
        (["nonsense"], "invalid choice: 'nonsense'"),
        (["simulate", "t.csv", "--out", "o", "--strategies", "random,random"], "more than once"),
        (["simulate", "t.csv", "--out", "o", "--jobs", "0"], "--jobs must be positive"),
    ],
)
def test_usage_errors_are_one_line(tmp_path, capsys, monkeypatch, no_compute, argv, fragment):
    monkeypatch.chdir(tmp_path)
    make_table().to_csv(tmp_path / "t.csv", index=False)
    code, out, err = run(capsys, *argv)
    assert_one_error_line(code, err, fragment)
    assert out == ""


def test_non_regular_files_and_closed_standard_input(tmp_path, capsys, monkeypatch):
    code, _, err = run(capsys, "select", "/dev/zero", "--label", "label", "--budget", "1")
    assert_one_error_line(code, err, "is not a regular file")
    code, _, err = run(capsys, "select", str(tmp_path), "--label", "label", "--budget", "1")
    assert_one_error_line(code, err, "is a directory")
    monkeypatch.setattr(sys, "stdin", None)
    code, _, err = run(capsys, "select", "-", "--label", "label", "--budget", "1")
    assert_one_error_line(code, err, "standard input, which is closed")


# ---------------------------------------------------------------------- simulate
def test_simulate_takes_features_id_exclude_and_writes_all_files_or_none(tmp_path, capsys):
    from dami_np import simulate

    rng = np.random.default_rng(2)
    n = 120
    a, b = rng.normal(size=n), rng.normal(size=n)
    frame = pd.DataFrame({"key": [f"r{i}" for i in range(n)], "a": a, "b": b, "junk": rng.normal(size=n),
                          "note": [f"text {i}" for i in range(n)], "label": np.where(a * b > 0, "p", "q")})
    path = tmp_path / "full.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "run"
    settings = ["--strategies", "random", "--initial", "10", "--batch", "10", "--rounds", "1", "--seeds", "1"]
    code, stdout, err = run(capsys, "simulate", str(path), "--label", "label", "--id", "key", "--exclude",
                            "note,junk", *settings, "--out", str(out))
    assert code == 0, err
    expected = simulate(frame[["a", "b"]], frame["label"].astype(object), ["random"], initial=10, batch=10,
                        rounds=1, seeds=1)
    got = pd.read_csv(out / "curves.csv")
    np.testing.assert_array_equal(got["accuracy"], expected.curves["accuracy"])
    code, _, err = run(capsys, "simulate", str(path), "--label", "label", "--features", "a,b", *settings,
                       "--out", str(tmp_path / "run2"))
    assert code == 0, err
    np.testing.assert_array_equal(pd.read_csv(tmp_path / "run2" / "curves.csv")["accuracy"], got["accuracy"])


class _FakeResult:
    def __init__(self, fail_summary: bool):
        self.curves = pd.DataFrame({"strategy": ["random"], "accuracy": [0.5]})
        self._fail = fail_summary

    def summary(self):
        frame = pd.DataFrame({"strategy": ["random"], "aulc_mean": [0.5]})
        if self._fail:
            class Failing(pd.DataFrame):
                def to_csv(self, *args, **kwargs):
                    raise OSError(28, "No space left on device")
            return Failing(frame)
        return frame

    def plot(self, path):
        Path(path).write_bytes(b"\x89PNG fake")


def test_simulate_outputs_are_renamed_together_or_not_at_all(tmp_path):
    from dami_np.cli._errors import CliError
    from dami_np.cli._simulate_command import write_simulation_outputs

    out = tmp_path / "run"
    out.mkdir()
    (out / "curves.csv").write_text("previous curves\n")
    (out / "summary.csv").write_text("previous summary\n")
    with pytest.raises(CliError, match="No space left on device"):
        write_simulation_outputs(_FakeResult(fail_summary=True), out)
    assert (out / "curves.csv").read_text() == "previous curves\n"  # not a new curves beside an old summary
    assert (out / "summary.csv").read_text() == "previous summary\n"
    assert sorted(p.name for p in out.iterdir()) == ["curves.csv", "summary.csv"]
    fresh = tmp_path / "fresh"
    with pytest.raises(CliError):
        write_simulation_outputs(_FakeResult(fail_summary=True), fresh)
    assert not fresh.exists()  # a directory this run created is removed again
    write_simulation_outputs(_FakeResult(fail_summary=False), out)
    assert (out / "curves.csv").read_text().startswith("strategy,accuracy")
    assert (out / "summary.csv").read_text().startswith("strategy,aulc_mean")


def test_simulate_output_directory_is_checked_before_any_work(tmp_path, capsys, no_compute):
    frame = make_table(labeled=80)
    path = tmp_path / "full.csv"
    frame.to_csv(path, index=False)
    (tmp_path / "file").write_text("x")
    code, _, err = run(capsys, "simulate", str(path), "--label", "label", "--out", str(tmp_path / "file"))
    assert_one_error_line(code, err, "exists and is not a directory")
    code, _, err = run(capsys, "simulate", str(path), "--label", "label", "--out", "/proc/self/run")
    assert_one_error_line(code, err, "cannot write into")
    code, _, err = run(capsys, "simulate", str(path), "--label", "label", "--out", str(tmp_path / "a" / "b"))
    assert_one_error_line(code, err, "does not exist")
    (tmp_path / "runs").mkdir()
    own = tmp_path / "runs" / "summary.csv"
    own.write_bytes(path.read_bytes())
    code, _, err = run(capsys, "simulate", str(own), "--label", "label", "--out", str(tmp_path / "runs"))
    assert_one_error_line(code, err, "would overwrite the input table")
    assert own.read_bytes() == path.read_bytes()


# ---------------------------------------------------------------------- more found in the same spirit
def test_excel_sep_line_and_header_less_files(tmp_path, capsys):
    frame = make_table()
    comma = tmp_path / "comma.csv"
    frame.to_csv(comma, index=False)
    _, expected, _ = run(capsys, *select_args(comma, 4, "--id", "key"))
    excel = tmp_path / "excel.csv"
    excel.write_text("sep=;\n" + frame.to_csv(index=False, sep=";", decimal=","))
    code, out, err = run(capsys, *select_args(excel, 4, "--id", "key"))
    assert code == 0, err
    assert out == expected
    bare = tmp_path / "bare.csv"
    frame.drop(columns=["key", "color"]).fillna({"label": ""}).assign(label=lambda f: f["label"].replace(
        {"yes": "1", "no": "0"})).to_csv(bare, index=False, header=False)
    code, _, err = run(capsys, *select_args(bare, 4))
    assert_one_error_line(code, err, "the first line looks like data, not a header")


def test_a_column_the_user_names_is_never_dropped_as_an_index(tmp_path, capsys):
    path = tmp_path / "indexed.csv"
    make_table().to_csv(path)  # first column: no name, values 0..79
    code, out, err = run(capsys, *select_args(path, 4, "--id", "Unnamed: 0"))
    assert code == 0, err
    report = picks(out)
    assert list(report["Unnamed: 0"]) == list(report["row"])
    assert "dropped the first column" not in err


def test_labels_that_are_the_same_number_are_warned_about(tmp_path, capsys):
    frame = make_table()
    labels = np.where(frame["a"] > 0, "1", "0").astype(object)
    labels[:5] = "1.0"
    labels[40:] = None
    frame["label"] = labels
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code, _, err = run(capsys, *select_args(path, 2, "--id", "key"))
    assert code == 0, err
    assert "the same number written differently ('1' and '1.0')" in err


def test_numbers_written_as_text_are_warned_about(tmp_path, capsys):
    frame = make_table()
    frame["rate"] = [f"{v:.0f}%" for v in np.random.default_rng(5).integers(0, 100, size=80)]
    frame["price"] = ["$1,200", "$950", "$2,400", "$3,100"] * 20
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code, _, err = run(capsys, *select_args(path, 2, "--id", "key"))
    assert code == 0, err
    assert "column 'rate' holds numbers written as text" in err
    assert "column 'price' holds numbers written as text (like '$1,200')" in err


def test_python_warnings_are_one_line_without_paths(tmp_path, capsys, monkeypatch):
    import warnings as warnings_module

    path = tmp_path / "t.csv"
    make_table().to_csv(path, index=False)

    def noisy(X, y, budget, strategy, seed, source):
        with np.errstate(over="warn"):
            np.float64(1e308) * np.float64(10)
        warnings_module.warn("line one\n  /some/absolute/path.py:12: line two", UserWarning)
        return pd.DataFrame({"row": np.arange(40, 40 + budget), "pick": np.arange(1, budget + 1)})

    monkeypatch.setattr(cli_select, "_select", noisy)
    code, out, err = run(capsys, *select_args(path, 2, "--id", "key"))
    assert code == 0, err
    lines = err.strip().splitlines()
    assert lines == ["dami: warning: numerical problem (overflow encountered in scalar multiply); the result "
                     "may be affected", "dami: warning: line one /some/absolute/path.py:12: line two"]
    assert "RuntimeWarning" not in err


def test_quiet_hides_notes_and_verbose_turns_on_the_compile_notice(tmp_path, capsys, monkeypatch):
    path = tmp_path / "indexed.csv"
    make_table().to_csv(path)
    monkeypatch.delenv("DAMI_NP_COMPILE_NOTICE", raising=False)
    code, _, err = run(capsys, *select_args(path, 2, "--id", "key", "-q"))
    assert code == 0 and err == ""  # the note about the dropped index column is hidden
    code, _, err = run(capsys, *select_args(path, 2, "--id", "key"))
    assert code == 0 and "dropped the first column" in err
    seen = []

    def spy(X, source):  # called just before the work starts
        seen.append(os.environ.get("DAMI_NP_COMPILE_NOTICE"))
        raise cli_select.CliError("spy: stop here")

    monkeypatch.setattr(cli_select, "check_features", spy)
    run(capsys, *select_args(path, 2, "--id", "key"))
    run(capsys, *select_args(path, 2, "--id", "key", "-v"))
    assert seen == [None, "1"]  # stderr is not a terminal: the kernels' compile notice only with -v
    assert "DAMI_NP_COMPILE_NOTICE" not in os.environ  # restored after the command
    for command in (["simulate", "x.csv", "--out", "d"], ["demo"], ["datasets"]):
        args = __import__("dami_np.cli", fromlist=["build_parser"]).build_parser().parse_args(command + ["-q"])
        assert args.verbosity == 0


def test_json_and_parquet_tables(tmp_path, capsys):
    frame = make_table()
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    _, expected, _ = run(capsys, *select_args(path, 4, "--id", "key"))
    records = tmp_path / "t.json"
    frame.to_json(records, orient="records", double_precision=15)
    lines = tmp_path / "t.jsonl"
    frame.to_json(lines, orient="records", lines=True, double_precision=15)
    for table in (records, lines):
        code, out, err = run(capsys, *select_args(table, 4, "--id", "key"))
        assert code == 0, err
        assert picks(out)["row"].tolist() == picks(expected)["row"].tolist()
    pytest.importorskip("pyarrow")
    parquet = tmp_path / "t.parquet"
    frame.assign(label=frame["label"].where(frame.index % 7 != 0, "NA")).to_parquet(parquet)
    code, out, err = run(capsys, *select_args(parquet, 4, "--id", "key"))
    assert code == 0, err
    assert "'NA', which counts as a class" in err
    code, out, err = run(capsys, *select_args(parquet, 4, "--id", "key", "--na-values", "NA"))
    assert code == 0 and "counts as a class" not in err
    disguised = tmp_path / "really_parquet.csv"
    disguised.write_bytes(parquet.read_bytes())
    code, out2, err = run(capsys, *select_args(disguised, 4, "--id", "key", "--na-values", "NA"))
    assert code == 0 and out2 == out


def test_default_missing_markers_in_text_features_are_warned_about_and_keep_na_keeps_them(tmp_path, capsys):
    frame = make_table()
    frame["region"] = np.array(["EU", "NA", "APAC", "EU"], dtype=object)[np.arange(80) % 4]  # NA: North America
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code, out, err = run(capsys, *select_args(path, 4, "--id", "key"))
    assert code == 0, err
    assert "column 'region' has cells read as missing values (20 'NA')" in err and "--keep-na region" in err
    code, kept, err = run(capsys, *select_args(path, 4, "--id", "key", "--keep-na", "region"))
    assert code == 0 and "read as missing" not in err
    renamed = tmp_path / "renamed.csv"
    frame.assign(region=frame["region"].replace({"NA": "NAM"})).to_csv(renamed, index=False)  # sorts like NA
    _, expected, _ = run(capsys, *select_args(renamed, 4, "--id", "key"))
    # with --keep-na, 'NA' is a level like any other: the picks of the table where it is spelled NAM
    pd.testing.assert_frame_equal(picks(kept).drop(columns="explanation"), picks(expected).drop(columns="explanation"))
    code, _, err = run(capsys, *select_args(path, 4, "--keep-na", "regoin"))
    assert_one_error_line(code, err, "'regoin' not found", "did you mean 'region'")


def test_unlabeled_rows_without_any_feature_value_are_not_picked(tmp_path, capsys):
    frame = make_table()
    clean = tmp_path / "clean.csv"
    frame.to_csv(clean, index=False)
    hollow = pd.concat([frame, pd.DataFrame({"key": ["placeholder1", "placeholder2"]})], ignore_index=True)
    path = tmp_path / "hollow.csv"
    hollow.to_csv(path, index=False)  # two rows with an id only: no label, no feature
    _, expected, _ = run(capsys, *select_args(clean, 40, "--id", "key"))
    code, out, err = run(capsys, *select_args(path, 40, "--id", "key"))
    assert code == 0, err
    assert "2 unlabeled row(s) have no feature value (data row(s) 80, 81)" in err
    assert out == expected  # the same picks: those rows are neither candidates nor preprocessing input
    code, _, err = run(capsys, *select_args(path, 41, "--id", "key"))
    assert_one_error_line(code, err, "only 40 rows")


def test_errors_name_rows_as_numbered_in_the_file(tmp_path, capsys):
    frame = make_table().astype({"a": object})
    frame.loc[50, "a"] = "oops"
    path = tmp_path / "t.csv"
    lines = frame.to_csv(index=False).splitlines()
    path.write_text("\n".join(lines[:4] + [",,,,"] + lines[4:]) + "\n")  # an empty row before data row 3
    code, _, err = run(capsys, *select_args(path, 3, "--id", "key"))
    assert_one_error_line(code, err, "'a'", "'oops' at row 51")  # data row 51 of the file, not 50 of the frame
    full = make_table(labeled=80).astype({"b": object})
    full.loc[70, "b"] = "?"
    full_path = tmp_path / "full.csv"
    lines = full.to_csv(index=False).splitlines()
    full_path.write_text("\n".join(lines[:2] + [",,,,"] + lines[2:]) + "\n")
    code, _, err = run(capsys, "simulate", str(full_path), "--label", "label", "--id", "key", "--out",
                       str(tmp_path / "sim"))
    assert_one_error_line(code, err, "'b'", "'?' at row 71", "--na-values '?'")


def test_progress_bar_survives_a_stream_that_goes_away():
    from dami_np._progress import Progress

    class Gone(io.StringIO):
        def write(self, text):
            raise OSError(5, "Input/output error")  # the terminal hung up

    with Progress(3, "run", stream=Gone(), min_interval=0.0) as bar:
        bar.update()
        bar.update(2)
    assert bar.done == 3 and not bar.enabled
    closed = io.StringIO()
    closed.close()
    with Progress(2, "run", stream=closed) as bar:
        bar.update(2)


def test_binary_files_and_cut_off_last_lines(tmp_path, capsys):
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    code, _, err = run(capsys, *select_args(binary, 1))
    assert_one_error_line(code, err, "is a binary file")
    frame = make_table()
    path = tmp_path / "cut.csv"
    text = frame.to_csv(index=False)
    path.write_text(text + "k080,0.5")  # an interrupted write: half a row, no line end
    code, _, err = run(capsys, *select_args(path, 2, "--id", "key"))
    assert code == 0, err
    assert "the last line has 2 of the header's 5 fields and no line end: was the file cut off?" in err
    whole = tmp_path / "whole.csv"
    whole.write_text(text)
    code, _, err = run(capsys, *select_args(whole, 2, "--id", "key"))
    assert code == 0 and "cut off" not in err
