"""``dami label``'s server through plain HTTP requests: answers reach the table at once and only
there, refusals write nothing (two tabs, unknown rows and classes, stale pages, a table changed
by another program), undo and skip, the next batch and its saved model, access rules, and the
command's own errors and signals."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from dami_np import datasets
from dami_np.cli.label_page import LabelSession
from dami_np.cli.label_page._server import LabelServer
from dami_np.cli.label_page._session import SessionConfig
from dami_np.cli.label_page._table_labels import TableOptions

BUDGET = 3


def make_table(path: Path, rows: int = 120) -> Path:
    """The first ``rows`` rows and 6 columns of wdbc, every 10th row labeled."""
    X, y = datasets.load("wdbc")
    frame = X.iloc[:rows, :6].copy()
    frame["class"] = y.iloc[:rows].where(frame.index % 10 == 0)
    frame.to_csv(path, index=False)
    return path


class Page:
    """A running server on a fresh table, and small helpers to talk to it."""

    def __init__(self, folder: Path, *, host: str = "127.0.0.1", save_model: Path | None = None,
                 table: Path | None = None, id_column: str | None = None) -> None:
        self.table = table or make_table(folder / "table.csv")
        self.original = self.table.read_bytes()
        self.session = LabelSession(TableOptions(str(self.table), "class", id_column=id_column),
                                    SessionConfig(budget=BUDGET, save_model=str(save_model) if save_model else None))
        self.server = LabelServer(host, 0, self.session)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.port = self.server.server_address[1]
        self.session.start()
        assert self.session.wait_idle(120)

    def request(self, path: str, body: dict | None = None, *, headers: dict | None = None,
                host: str | None = None) -> tuple[int, dict]:
        sent = {"X-Dami-Page": "1", "Content-Type": "application/json"} if body is not None else {}
        sent.update(headers or {})
        if host is not None:
            sent["Host"] = host
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def state(self) -> dict:
        return self.request("/api/state")[1]

    def post(self, action: str, **body) -> tuple[int, dict]:
        body.setdefault("token", self.state()["token"])
        return self.request(f"/api/{action}", body)

    def labels_on_disk(self) -> dict[int, str]:
        import pandas as pd

        frame = pd.read_csv(self.table, dtype={"class": str}, keep_default_na=False)
        return {i: v for i, v in enumerate(frame["class"].tolist()) if v != ""}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.session.close()


@pytest.fixture
def page(tmp_path):
    running = Page(tmp_path)
    yield running
    running.close()


def changed_lines(before: bytes, after: bytes) -> list[int]:
    a, b = before.decode().splitlines(), after.decode().splitlines()
    assert len(a) == len(b)
    return [i for i, (x, y) in enumerate(zip(a, b)) if x != y]


def test_first_batch_has_cards_in_pick_order_without_a_preselected_answer(page):
    state = page.state()
    assert state["batch"] == 1 and len(state["cards"]) == BUDGET
    assert [card["pick"] for card in state["cards"]] == [1, 2, 3]
    assert all(card["state"] == "open" and card["answer"] is None for card in state["cards"])
    assert [c["name"] for c in state["classes"]] == ["B", "M"] and [c["key"] for c in state["classes"]] == ["1", "2"]
    card = state["cards"][0]
    explained = [entry["name"] for entry in card["explanation"]]
    assert explained and [v["column"] for v in card["values"][:len(explained)]] == explained[:3]
    assert state["labeled"] == 12 and state["unlabeled"] == 108


def test_an_answer_is_written_at_once_and_changes_only_its_cell(page):
    row = page.state()["cards"][0]["row"]
    status, state = page.post("answer", row=row, label="M", note="")
    assert status == 200, state
    after = page.table.read_bytes()
    assert changed_lines(page.original, after) == [row + 1]  # + the header line
    assert after.decode().splitlines()[row + 1].endswith(",M")
    assert state["cards"][0]["state"] == "answered" and state["labeled"] == 13


def test_two_tabs_answering_the_same_card_write_once(page):
    state = page.state()
    row, token = state["cards"][0]["row"], state["token"]
    first = page.request("/api/answer", {"token": token, "row": row, "label": "B"})
    second = page.request("/api/answer", {"token": token, "row": row, "label": "M"})
    assert first[0] == 200
    assert second[0] == 409 and "already answered" in second[1]["error"]
    assert page.labels_on_disk()[row] == "B"
    assert len(changed_lines(page.original, page.table.read_bytes())) == 1


def test_unknown_row_class_or_stale_page_write_nothing(page):
    state = page.state()
    row = state["cards"][0]["row"]
    labeled_row = 0  # labeled in the table, not in the batch
    cases = [({"row": 99999, "label": "B"}, 404, "not in this batch"),
             ({"row": labeled_row, "label": "B"}, 404, "not in this batch"),
             ({"row": "x", "label": "B"}, 400, "not a row number"),
             ({"row": row, "label": "Q"}, 400, "not one of"),
             ({"row": row}, 400, "no 'label'"),
             ({"row": row, "label": "B", "token": "an-old-page"}, 409, "reload")]
    for body, code, text in cases:
        status, answer = page.post("answer", **body)
        assert status == code and text in answer["error"], (body, answer)
    assert page.table.read_bytes() == page.original


def test_skip_leaves_the_row_unlabeled_and_undo_takes_answers_back(page):
    cards = page.state()["cards"]
    assert page.post("skip", row=cards[0]["row"])[0] == 200
    assert page.post("answer", row=cards[1]["row"], label="M")[0] == 200
    assert page.labels_on_disk().get(cards[1]["row"]) == "M"
    status, state = page.post("undo")
    assert status == 200 and state["cards"][1]["state"] == "open"
    assert page.table.read_bytes() == page.original  # the cell is empty again, nothing else moved
    status, state = page.post("undo")
    assert status == 200 and state["cards"][0]["state"] == "open"
    assert page.post("undo")[1]["error"] == "nothing to undo in this batch"
    assert cards[0]["row"] not in page.labels_on_disk()


def test_a_table_changed_by_another_program_is_refused_then_reread(page):
    cards = page.state()["cards"]
    other = page.original.decode().splitlines()
    other[cards[0]["row"] + 1] += "B"  # another program labels the first pick
    page.table.write_text("\n".join(other) + "\n")
    edited = page.table.read_bytes()
    status, answer = page.post("answer", row=cards[1]["row"], label="M")
    assert status == 409 and "changed on disk" in answer["error"]
    assert page.table.read_bytes() == edited
    state = page.request("/api/state?sync=1")[1]
    assert state["cards"][0]["state"] == "answered" and state["cards"][0]["by_other"]
    assert page.post("answer", row=cards[1]["row"], label="M")[0] == 200
    assert page.labels_on_disk()[cards[0]["row"]] == "B" and page.labels_on_disk()[cards[1]["row"]] == "M"


def test_a_finished_batch_brings_the_next_one_and_saves_the_model(tmp_path):
    model = tmp_path / "labels.npz"
    running = Page(tmp_path, save_model=model)
    try:
        first = running.state()
        assert model.exists()
        answers = {card["row"]: ("B" if i % 2 else "M") for i, card in enumerate(first["cards"])}
        for row, label in answers.items():
            assert running.post("answer", row=row, label=label)[0] == 200
        assert running.session.wait_idle(120)
        second = running.state()
        assert second["batch"] == 2 and second["token"] != first["token"] and not second["message"]
        assert not set(answers) & {card["row"] for card in second["cards"]}
        assert second["status"] and "labels: 15" in second["status"][0]
        on_disk = running.labels_on_disk()
        assert {row: on_disk[row] for row in answers} == answers
        assert len(on_disk) == 15
        status, answer = running.request("/api/answer", {"token": first["token"], "row": second["cards"][0]["row"],
                                                         "label": "B"}, )
        assert status == 409 and "earlier batch" in answer["error"]
    finally:
        running.close()


def test_posts_need_the_page_header_json_and_this_host(page):
    row = page.state()["cards"][0]["row"]
    body = {"token": page.state()["token"], "row": row, "label": "B"}
    status, answer = page.request("/api/answer", body, headers={"X-Dami-Page": "0"})
    assert status == 403
    status, answer = page.request("/api/answer", body, headers={"Content-Type": "text/plain"})
    assert status == 415
    status, answer = page.request("/api/state", host="evil.example:80")
    assert status == 403 and "Host" in answer["error"]
    assert page.table.read_bytes() == page.original


def test_another_interface_needs_the_printed_key(tmp_path):
    running = Page(tmp_path, host="0.0.0.0")
    try:
        key = running.server.key
        assert key and running.server.url.endswith(f"?key={key}")
        assert running.request("/api/state")[0] == 403
        assert running.request(f"/api/state?key={key}")[0] == 200
        assert running.request("/api/state", headers={"X-Dami-Key": key})[0] == 200
        assert running.request("/api/state", headers={"X-Dami-Key": "wrong"})[0] == 403
    finally:
        running.close()


def _dami(*args: str, **kwargs) -> subprocess.Popen:
    code = "import sys; from dami_np.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


def test_command_errors_are_one_line_exit_2(tmp_path):
    table = make_table(tmp_path / "t.csv")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = str(busy.getsockname()[1])
        cases = [(["label", str(table), "--label", "class", "--port", port], "is in use"),
                 (["label", str(table), "--label", "nope", "--port", "0"], "nope"),
                 (["label", str(tmp_path / "missing.csv"), "--label", "class"], "no such file"),
                 (["label", str(table), "--label", "class", "--budget", "0"], "--budget"),
                 (["label", "-", "--label", "class"], "must be a file"),
                 (["label", str(table), "--label", "class", "--model", str(table)], str(table))]
        for args, text in cases:
            process = _dami(*args)
            out, err = process.communicate(timeout=60)
            lines = err.strip().splitlines()
            assert process.returncode == 2 and len(lines) == 1 and text in lines[0], (args, err)
            assert "Traceback" not in err
    assert table.read_bytes() == make_table(tmp_path / "again.csv").read_bytes()


@pytest.mark.parametrize("number, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_stop_the_server_cleanly(tmp_path, number, code):
    table = make_table(tmp_path / "t.csv")
    process = _dami("label", str(table), "--label", "class", "--port", "0", cwd=tmp_path)
    line = process.stdout.readline()
    assert "http://127.0.0.1:" in line
    time.sleep(0.5)
    process.send_signal(number)
    out, err = process.communicate(timeout=60)
    assert process.returncode == code and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]  # no temporary file left
    assert os.path.getsize(table) == os.path.getsize(make_table(tmp_path / "again.csv"))


def test_a_parquet_table_with_an_id_gets_its_answer_and_loses_it_on_undo(tmp_path):
    import pandas as pd

    pytest.importorskip("pyarrow")
    frame = pd.read_csv(make_table(tmp_path / "t.csv"))
    frame.insert(0, "patient", [f"p{i:03d}" for i in range(len(frame))])
    path = tmp_path / "table.parquet"
    frame.to_parquet(path, index=False)
    running = Page(tmp_path, table=path, id_column="patient")
    try:
        card = running.state()["cards"][0]
        assert card["id"] == f"p{card['row']:03d}" and "patient" not in [v["column"] for v in card["values"]]
        assert running.post("answer", row=card["row"], label="M")[0] == 200
        labels = pd.read_parquet(path)["class"]
        assert labels.iloc[card["row"]] == "M" and labels.notna().sum() == frame["class"].notna().sum() + 1
        assert running.post("undo")[0] == 200
        pd.testing.assert_frame_equal(pd.read_parquet(path), frame)
    finally:
        running.close()


def test_an_answer_given_survives_sigterm(tmp_path):
    table = make_table(tmp_path / "t.csv")
    process = _dami("label", str(table), "--label", "class", "--port", "0", "--budget", "2")
    url = process.stdout.readline().split(" at ")[1].split()[0]
    deadline = time.monotonic() + 120
    while True:
        with urllib.request.urlopen(url + "api/state", timeout=30) as response:
            state = json.loads(response.read())
        if state["cards"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    row = state["cards"][0]["row"]
    request = urllib.request.Request(url + "api/answer", data=json.dumps(
        {"token": state["token"], "row": row, "label": "B"}).encode(),
        headers={"X-Dami-Page": "1", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    assert process.returncode == 143
    lines = table.read_text().splitlines()
    assert lines[row + 1].endswith(",B")
    assert sum(1 for line in lines[1:] if not line.endswith(",")) == 13


def test_a_table_without_labels_starts_from_the_class_names_given(tmp_path):
    import pandas as pd

    path = make_table(tmp_path / "t.csv")
    frame = pd.read_csv(path)
    frame["class"] = None
    frame.to_csv(path, index=False)
    session = LabelSession(TableOptions(str(path), "class"), SessionConfig(budget=2, classes=("B", "M")))
    try:
        session.start()
        assert session.wait_idle(120)
        state = session.state()
        assert [c["name"] for c in state["classes"]] == ["B", "M"] and len(state["cards"]) == 2
        assert state["cards"][0]["predicted"] is None and not state["message"]
        session.answer(state["token"], state["cards"][0]["row"], "M")
        assert pd.read_csv(path)["class"].notna().sum() == 1
    finally:
        session.close()
    for labels in ([None] * len(frame), ["M"] + [None] * (len(frame) - 1)):
        frame["class"] = labels
        frame.to_csv(path, index=False)
        process = _dami("label", str(path), "--label", "class", "--port", "0")
        try:
            err = process.communicate(timeout=60)[1]
        finally:
            process.kill()
        assert process.returncode == 2 and "--classes" in err and len(err.strip().splitlines()) == 1


def test_a_note_that_cannot_be_saved_keeps_the_answer_and_says_so(tmp_path):
    path = make_table(tmp_path / "t.csv")
    session = LabelSession(TableOptions(str(path), "class"), SessionConfig(budget=2, notes=str(tmp_path)))
    try:
        session.start()
        assert session.wait_idle(120)
        state = session.state()
        row = state["cards"][0]["row"]
        after = session.answer(state["token"], row, "M", note="a directory is no notes file")
        assert "note could not be saved" in after["message"] and after["cards"][0]["state"] == "answered"
        assert path.read_text().splitlines()[row + 1].endswith(",M")
    finally:
        session.close()
