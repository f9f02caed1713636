"""One writer per run, nothing followed out of a run directory, nothing rewritten that would be
lost: rescore, view and resume against runs that are being written, damaged, torn or linked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes import completion_body
from faultkit import one_error_line

from econ.belief.checkpoint_files import recover_dir
from econ.runs import run_lock

BOXED = completion_body("\\boxed{5}")


@pytest.fixture
def run(cli, config, serve) -> Path:
    """A finished eval run of 4 demo questions in ./run."""
    server = serve(lambda hit, h: (200, BOXED))
    args = ["eval", "--method", "cot", "--limit", 4, "--model", f"openai:m@{server.url}"]
    code, _, err = cli(*args, "--config", config(), "--out", "run")
    assert code == 0, err
    return Path("run")


def hold_lock(path: Path) -> subprocess.Popen:
    """Another process holding the run's lock until it is killed."""
    code = (
        "import sys, time; from pathlib import Path; from econ.runs import run_lock\n"
        "with run_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(120)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"held"
    return proc


def test_a_run_being_written_is_refused_to_a_second_writer(cli, run):
    before = (run / "records.jsonl").read_bytes()
    holder = hold_lock(run)
    try:
        code, _, err = cli("rescore", run)
        assert code == 2 and f"pid {holder.pid}" in one_error_line(err)
        code, _, err = cli("eval", "--resume", run)
        assert code == 2 and "being written by another econ process" in one_error_line(err)
        assert (run / "records.jsonl").read_bytes() == before
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    code, out, err = cli("rescore", run)  # the kernel dropped the dead holder's lock
    assert code == 0 and "verdicts changed: 0" in out, err


def test_the_lock_is_one_per_run_and_released_on_exit(tmp_path):
    with run_lock(tmp_path):
        assert (tmp_path / ".lock").read_text().strip() == str(os.getpid())
    with run_lock(tmp_path):  # released: taken again at once
        pass


def test_rescore_refuses_a_torn_config_and_damaged_lines_and_changes_nothing(cli, run):
    records = (run / "records.jsonl").read_bytes()
    config = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(config[: len(config) // 2])
    code, _, err = cli("rescore", run)
    assert code == 2 and "incomplete" in one_error_line(err)
    (run / "config.yaml").write_text(config)
    lines = records.decode().splitlines(keepends=True)
    (run / "records.jsonl").write_text(lines[0] + '{"id": "demo-02", "meth\n' + "".join(lines[1:]))
    damaged = (run / "records.jsonl").read_bytes()
    code, _, err = cli("rescore", run)
    assert code == 2 and "1 damaged line(s) (first at line 2)" in one_error_line(err)
    assert (run / "records.jsonl").read_bytes() == damaged


def test_nothing_is_followed_out_of_a_run_directory(cli, run, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    # a resume does not append to what records.jsonl links to
    real = run / "records.jsonl"
    (tmp_path / "elsewhere.jsonl").write_bytes(real.read_bytes())
    real.unlink()
    real.symlink_to(tmp_path / "elsewhere.jsonl")
    code, _, err = cli("eval", "--resume", run)
    assert code == 2 and "is a symlink" in one_error_line(err)
    real.unlink()
    real.write_bytes((tmp_path / "elsewhere.jsonl").read_bytes())
    # view writes its page in place of a link, never through it, and embeds no linked file
    (run / "view.html").symlink_to(outside)
    (run / "linked.png").symlink_to(outside)
    config = run / "config.yaml"
    saved = config.read_text()
    config.unlink()
    (tmp_path / "secret.yaml").write_text("secret: 42\n")
    config.symlink_to(tmp_path / "secret.yaml")
    code, out, err = cli("view", run)
    assert code == 0, err
    page = (run / "view.html").read_text()
    assert outside.read_text() == "keep me" and not (run / "view.html").is_symlink()
    assert "secret: 42" not in page and "linked.png" not in page
    config.unlink()
    config.write_text(saved)


def test_view_never_overwrites_a_file_it_did_not_write(cli, run):
    before = (run / "records.jsonl").read_bytes()
    code, _, err = cli("view", run, "--out", run / "records.jsonl")
    assert code == 2 and "not a page econ view wrote" in one_error_line(err)
    assert (run / "records.jsonl").read_bytes() == before
    assert cli("view", run, "--out", "page.html")[0] == 0
    assert cli("view", run, "--out", "page.html")[0] == 0  # its own page: replaced


def test_a_training_run_and_an_eval_run_resume_only_as_themselves(cli, run, tmp_path):
    code, _, err = cli("train", "--resume", run)
    assert code == 2 and "is an eval or compare run" in one_error_line(err)
    training = tmp_path / "trained"
    training.mkdir()
    (training / "config.yaml").write_bytes((run / "config.yaml").read_bytes())
    (training / "episodes.jsonl").write_text(json.dumps({"episode": 0, "id": "q"}) + "\n")
    code, _, err = cli("eval", "--resume", training)
    assert code == 2 and "is a training run" in one_error_line(err)


def test_a_checkpoint_cut_between_its_renames_is_put_back(tmp_path):
    """write_dir_atomically renames the old checkpoint aside, then the new one into place; a
    kill between the two leaves no checkpoint/, and the next start puts the old one back."""
    ckpt = tmp_path / "checkpoint"
    aside = tmp_path / ".checkpoint.old-1234"
    aside.mkdir()
    (aside / "state.json").write_text("{}")
    newer = tmp_path / ".checkpoint.tmp-5678"
    newer.mkdir()
    recover_dir(ckpt)
    assert (ckpt / "state.json").read_text() == "{}"
    assert not aside.exists() and not newer.exists()
    recover_dir(ckpt)  # nothing to do
    assert (ckpt / "state.json").exists()


def test_train_resume_without_a_checkpoint_is_refused_not_restarted(cli, config, serve):
    """Episodes recorded but no checkpoint/state.json: resuming would replay every recorded
    episode with fresh networks. It is refused with one line, and nothing is rewritten."""
    server = serve(lambda hit, h: (200, BOXED))
    args = ["train", "--benchmark", "demo", "--episodes", 2, "--model", f"openai:m@{server.url}"]
    code, _, err = cli(*args, "--config", config(), "--out", "t")
    assert code == 0, err
    (Path("t") / "checkpoint" / "state.json").unlink()
    episodes = (Path("t") / "episodes.jsonl").read_bytes()
    time.sleep(0.01)
    code, _, err = cli("train", "--resume", "t")
    assert code == 2 and "no checkpoint to continue them from" in one_error_line(err)
    assert (Path("t") / "episodes.jsonl").read_bytes() == episodes


@pytest.mark.parametrize(
    ("setting", "needle"),
    [
        ("train.learner.lr=.inf", "finite number"),
        ("train.learner.device=bogus", "is not a torch device"),
        ("train.learner.gap_grid=100000000", "less than or equal to 21"),
        ("run.limit=1", "training needs at least 2 questions"),
    ],
)
def test_training_settings_that_validate_can_be_honoured(cli, config, serve, setting, needle):
    """Each was accepted, then ran to NaN losses, a traceback, a division by zero or an
    allocation of gigabytes; now each is one line and exit 2 before anything runs."""
    server = serve(lambda hit, h: (200, BOXED))
    key, value = setting.split("=")
    *parents, leaf = key.split(".")
    section: dict = {}
    node = section
    for name in parents[1:]:
        node = node.setdefault(name, {})
    node[leaf] = float("inf") if value == ".inf" else (int(value) if value.isdigit() else value)
    args = ["train", "--benchmark", "demo", "--episodes", 2, "--model", f"openai:m@{server.url}"]
    code, _, err = cli(*args, "--config", config(**{parents[0]: section}), "--out", "t")
    assert code == 2 and needle in one_error_line(err), err
    assert server.hits == 0


def test_credentials_in_a_base_url_never_reach_a_record_in_any_encoding(cli, config, serve):
    """httpx sends a URL's user:password as Basic auth; a server that echoes the header in
    its error put base64("user:p@ss w") into records.jsonl. Every encoding is redacted."""
    import base64

    server = serve(lambda hit, h: (401, {"error": f"bad auth {h.get('Authorization')}"}))
    host = server.url.removeprefix("http://")
    spec = f"openai:m@http://bob:p%40ss%20w@{host}"
    code, _, err = cli("eval", "--method", "cot", "--limit", 1, "--model", spec,
                       "--config", config(), "--out", "run")  # fmt: skip
    sent = server.requests[0][0]["Authorization"]
    leaked = base64.b64encode(b"bob:p@ss w").decode()
    assert sent == f"Basic {leaked}"  # what went out, and what the server echoed
    files = [p for p in Path("run").iterdir() if p.suffix in (".jsonl", ".yaml", ".json", ".md")]
    text = "".join(p.read_text() for p in files)
    assert "bad auth Basic ***" in text
    assert leaked not in text and "p@ss w" not in text and "p%40ss" not in text


def test_cache_commands_touch_only_an_econ_cache_and_info_never_writes(cli, tmp_path):
    import sqlite3

    other = tmp_path / "app.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE completions (id INTEGER, body TEXT)")
    db.execute("INSERT INTO completions VALUES (1, 'precious')")
    db.commit()
    db.close()
    before = other.read_bytes()
    for command in ("info", "clear"):
        code, _, err = cli("cache", command, "--path", other)
        assert code == 2 and "is not an econ request cache" in one_error_line(err)
        assert other.read_bytes() == before
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    code, out, _ = cli("cache", "info", "--path", empty)
    assert code == 0 and "entries: 0" in out and empty.read_bytes() == b""
    assert not Path(f"{empty}-wal").exists()
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    for command in ("info", "clear"):
        code, _, err = cli("cache", command, "--path", corrupt)
        assert code == 2 and "request cache" in one_error_line(err), err


def test_a_full_disk_is_one_line_and_exit_1_and_keeps_what_was_written(cli, run, monkeypatch):
    import errno

    import econ.evaluate

    def full(*_):
        raise OSError(errno.ENOSPC, "No space left on device", "run/records.jsonl")

    (run / "records.jsonl").write_text("".join((run / "records.jsonl").read_text().splitlines(
        keepends=True)[:2]))  # fmt: skip
    kept = (run / "records.jsonl").read_bytes()
    monkeypatch.setattr(econ.evaluate, "append_record", full)
    code, _, err = cli("eval", "--resume", run)
    line = one_error_line(err)
    assert code == 1 and line == "error: cannot write run/records.jsonl: No space left on device"
    assert (run / "records.jsonl").read_bytes() == kept


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("dup.csv", "question,answer,answer\nq,1,2\n", "names 'answer' more than once"),
        ("deep.json", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("deep.jsonl", "[" * 100_000 + "]" * 100_000 + "\n", "deep.jsonl:1: JSON nested"),
        ("big.json", '[{"question": "q", "answer": ' + "9" * 5000 + "}]", "4300 digits"),
    ],
)
def test_data_files_that_crashed_the_reader_are_one_line(cli, tmp_path, name, content, needle):
    path = tmp_path / name
    path.write_text(content)
    code, _, err = cli("eval", "--method", "cot", "--benchmark", "gsm8k", "--data", path,
                       "--model", "openai:m@http://127.0.0.1:9/v1", "--out", "run")  # fmt: skip
    assert code == 2 and needle in one_error_line(err), err


def test_rescore_calls_valid_json_without_a_trace_damaged(cli, run):
    lines = (run / "records.jsonl").read_text().splitlines(keepends=True)
    broken = json.loads(lines[1])
    broken["trace"] = "not a list"
    lines[1] = json.dumps(broken) + "\n"
    (run / "records.jsonl").write_text("".join(lines))
    code, _, err = cli("rescore", run)
    assert code == 2 and "1 damaged line(s) (first at line 2)" in one_error_line(err)


def test_train_resume_refuses_a_damaged_episode_record(cli, config, serve):
    server = serve(lambda hit, h: (200, BOXED))
    args = ["train", "--benchmark", "demo", "--episodes", 2, "--model", f"openai:m@{server.url}"]
    assert cli(*args, "--config", config(), "--out", "t")[0] == 0
    path = Path("t") / "episodes.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    lines[0] = json.dumps({**json.loads(lines[0]), "rewards": "lots"}) + "\n"
    path.write_text("".join(lines))
    code, _, err = cli("train", "--resume", "t", "--episodes", 2)
    assert code == 2 and "record 1 is not an episode record" in one_error_line(err), err


def test_view_reads_hand_edited_and_odd_runs_without_a_traceback(cli, run, tmp_path):
    """Ids with non-ASCII digits, a config whose methods and controls are not lists, a line of
    JSON nested past reading, a summary entry without its interval, a folder named *.png."""
    import shutil

    lines = (run / "records.jsonl").read_text().splitlines()
    odd = json.loads(lines[0]) | {"id": "q\u00b2"}  # "²" is a digit to str.isdigit, not to int
    with open(run / "records.jsonl", "a") as f:
        f.write(json.dumps(odd) + "\n" + "[" * 100_000 + "]" * 100_000 + "\n")
    config = run / "config.yaml"
    text = config.read_text().replace("  methods:\n  - cot\n", "  methods: cot\n")
    config.write_text(text.replace("  controls:\n", "  controls: 7\n  old_controls:\n"))
    summary = json.loads((run / "summary.json").read_text())
    del summary["methods"]["cot"]["ci95"]
    (run / "summary.json").write_text(json.dumps(summary))
    (run / "folder.png").mkdir()
    code, out, err = cli("view", run, "--out", "page.html")
    assert code == 0, err
    assert "Traceback" not in err
    page = Path("page.html").read_text()
    embedded = page.split('id="econ-data">', 1)[1].split("</script>", 1)[0]
    data = json.loads(embedded)
    assert "q\u00b2" in [r["id"] for r in data["records"]] and data["controls"] == []
    chromium = shutil.which("chromium")
    if chromium is None:
        return
    proc = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
         "--dump-dom", Path("page.html").resolve().as_uri()],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert not [line for line in proc.stderr.splitlines() if "CONSOLE" in line]
    assert 'id="summary-table"' in proc.stdout and "q\u00b2" in proc.stdout


def test_a_parquet_file_with_a_damaged_page_is_one_line(cli, tmp_path):
    """The footer reads, so the file opens; the damage shows when its rows are read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = {"question": [f"What is {i} + 1?" for i in range(5000)], "answer": ["2"] * 5000}
    pq.write_table(pa.table(rows), tmp_path / "good.parquet")
    data = bytearray((tmp_path / "good.parquet").read_bytes())
    data[100:1100] = b"A" * 1000  # inside the first column's pages, far from the footer
    assert len(data) > 10_000
    (tmp_path / "bad.parquet").write_bytes(bytes(data))
    code, _, err = cli("eval", "--method", "cot", "--benchmark", "gsm8k", "--data",
                       tmp_path / "bad.parquet", "--model", "openai:m@http://127.0.0.1:9/v1",
                       "--out", "run")  # fmt: skip
    assert code == 2 and "bad.parquet: damaged at row 0" in one_error_line(err), err


def test_a_gold_integer_beyond_any_float_is_one_line(cli, tmp_path):
    row = {"id": "d1", "question": "1+1?", "answer": int("9" * 400), "kind": "numeric"}
    (tmp_path / "wide.jsonl").write_text(json.dumps(row) + "\n")
    code, _, err = cli("eval", "--method", "cot", "--data", tmp_path / "wide.jsonl",
                       "--model", "openai:m@http://127.0.0.1:9/v1", "--out", "run")  # fmt: skip
    line = one_error_line(err)
    assert code == 2 and "unparseable gold answer 99999" in line and len(line) < 200, err
