"""Tables that are legal but hostile: huge headers, quoted line breaks in names, CR-only line ends,
byte-to-byte codecs as --encoding. Each reads right or fails as one line."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from dami_np.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _picks(out: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(out))


def _wide(path, n_columns: int, name: str) -> list[str]:
    columns = [name % i for i in range(n_columns)]
    rows = [",".join(str((r * 7 + i) % 5) for i in range(n_columns)) + "," + label
            for r, label in enumerate(["p", "q", "", "p", "q", ""])]
    path.write_text(",".join(columns + ["y"]) + "\n" + "\n".join(rows) + "\n")
    return columns


@pytest.mark.parametrize("n_columns, name", [(3_000, "c%05d" + "_long" * 10), (1_500, "c%05d" + "x" * 720)])
def test_a_huge_header_reads_whole(tmp_path, capsys, n_columns, name):
    """Over the csv module's 131072-character field limit, and over 1 MiB (the old cut)."""
    path = tmp_path / "wide.csv"
    _wide(path, n_columns, name)
    header_bytes = len(path.read_text().split("\n", 1)[0])
    assert header_bytes > 131072 and (n_columns > 1_500 or header_bytes > 1 << 20)
    code, out, err = _run(capsys, "select", str(path), "--label", "y", "--budget", "1", "--strategy", "random",
                          "--seed", "0")
    assert code == 0, err
    assert _picks(out)["row"].tolist()[0] in (2, 5)


def test_a_header_longer_than_the_sniffing_prefix_with_a_semicolon(tmp_path, capsys):
    path = tmp_path / "wide.csv"
    columns = [f"col{i:06d}" + "_" * 60 for i in range(1_200)]
    path.write_text(";".join(columns + ["y"]) + "\n" + ";".join("1" for _ in columns) + ";a\n"
                    + ";".join("2" for _ in columns) + ";b\n" + ";".join("3" for _ in columns) + ";\n")
    code, out, err = _run(capsys, "select", str(path), "--label", "y", "--budget", "1", "--strategy", "random")
    assert code == 0, err
    assert _picks(out)["row"].tolist() == [2]


def test_a_quoted_line_break_in_a_column_name(tmp_path, capsys):
    path = tmp_path / "q.csv"
    path.write_text('a,"b\nc",y\n1,2,p\n3,4,\n5,6,q\n7,8,\n')
    code, out, err = _run(capsys, "select", str(path), "--label", "y", "--budget", "2", "--strategy", "random")
    assert code == 0, err
    assert sorted(_picks(out)["row"]) == [1, 3]
    assert "b\nc" in out and "warning" not in err


@pytest.mark.parametrize("line_end", ["\r", "\r\n", "\n"])
def test_quoted_line_feeds_in_cells_keep_the_row_count(tmp_path, capsys, line_end):
    path = tmp_path / "cr.csv"
    rows = ["a,b,y", '1,"x\ny",', "2,z,", "3,w,q", '4,"u\nv",p', '5,"s\r\nt",']
    path.write_bytes(line_end.join(rows).encode() + line_end.encode())
    code, out, err = _run(capsys, "select", str(path), "--label", "y", "--budget", "3", "--strategy", "random")
    assert code == 0, err
    assert sorted(_picks(out)["row"]) == [0, 1, 4]
    code, _, err = _run(capsys, "select", str(path), "--label", "y", "--budget", "4", "--strategy", "random")
    assert code == 2 and "only 3 rows" in err, err


@pytest.mark.parametrize("encoding", ["base64", "rot13", "hex", "zlib", "bz2_codec", "uu", "quopri"])
def test_byte_codecs_are_not_text_encodings(tmp_path, capsys, encoding):
    path = tmp_path / "t.csv"
    path.write_text("a,y\n1,p\n2,\n3,q\n")
    code, _, err = _run(capsys, "select", str(path), "--label", "y", "--budget", "1", "--encoding", encoding)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert "is not a text encoding" in lines[0] and "internal error" not in err
