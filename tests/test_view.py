"""`econ view RUN`: the page a user reads a run in.

The run directories here are written by hand with the shapes evaluate.py and train.py write
(every trace entry carries every field CallLog records), so these tests need no LLM. One of
them renders the page in headless Chromium and reads the DOM after the page's script ran;
where Chromium is not installed it checks the static page instead and says so (CI installs
it, see .ci/run).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import warnings
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from econ.cli import app
from econ.compute import build_report
from econ.methods.base import ANSWER_FORMAT
from econ.methods.econ import prompts as P
from econ.records import EvalRecord
from econ.tasks import get_benchmark

INJECTION = "</script><b>x</b>"
METHODS = ["cot", "self_consistency", "debate", "econ"]
# A 1x1 PNG: the page inlines whatever plots the run wrote.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
QUESTIONS = {
    "q1": (
        "Natalia sold clips to 48 of her friends in April, and then she sold half as many "
        "clips in May. How many clips did Natalia sell altogether in April and May?",
        "72",
    ),
    "q2": (
        "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of "
        "babysitting. How much did she earn?",
        "10",
    ),
}


# ---- a run written by hand --------------------------------------------------------------


def call(
    role,
    messages,
    response,
    *,
    rnd=0,
    agent=None,
    temperature=0.0,
    top_p=1.0,
    max_tokens=384,
    tokens=(120, 80),
    finish="stop",
    error=None,
    failed=(),
):
    """One trace entry, with every field CallLog writes."""
    return {
        "role": role, "round": rnd, "agent": agent, "model": "qwen2.5-coder-0.5b",
        "temperature": temperature, "top_p": top_p, "repetition_penalty": None,
        "max_tokens": max_tokens, "messages": messages, "response": response,
        "finish_reason": None if error else finish, "empty": False,
        "prompt_tokens": tokens[0], "completion_tokens": 0 if error else tokens[1],
        "latency_s": 2.5, "requests": 1 + len(failed), "failed_attempts": list(failed),
        "error": error, "cached": False,
    }  # fmt: skip


def record(qid, method, trace, prediction, details=None, error=None, epoch=0):
    """A record as solve_one writes it, its totals summed from its trace."""
    question, gold = QUESTIONS[qid]
    return {
        "id": qid, "method": method, "epoch": epoch, "benchmark": "gsm8k",
        "question": question, "gold": gold, "prediction": prediction,
        "correct": error is None and get_benchmark("gsm8k").grade(prediction, gold),
        "prompt_tokens": sum(c["prompt_tokens"] for c in trace),
        "completion_tokens": sum(c["completion_tokens"] for c in trace),
        "calls": sum(c["requests"] for c in trace),
        "failed_requests": sum(len(c["failed_attempts"]) for c in trace),
        "empty_responses": 0, "latency_s": 7.5, "llm_seconds": 7.5,
        "per_model": {}, "error": error, "details": details or {}, "trace": trace,
    }  # fmt: skip


def ask(question):
    return [{"role": "user", "content": f"{question}\n\n{ANSWER_FORMAT}"}]


def cot(qid, answer):
    question, _ = QUESTIONS[qid]
    text = f"Working through the problem step by step gives {answer}. \\boxed{{{answer}}}"
    return record(qid, "cot", [call("solver", ask(question), text)], answer)


def self_consistency(qid, answers):
    question, _ = QUESTIONS[qid]
    trace = [
        call("sampler", ask(question), f"So the total is \\boxed{{{a}}}", agent=i, temperature=0.7)
        for i, a in enumerate(answers)
    ]
    return record(qid, "self_consistency", trace, answers[0], {"answers": answers})


def debate(qid, rounds):
    """rounds[r][i]: debater i's answer in round r + 1."""
    question, _ = QUESTIONS[qid]
    trace = []
    for r, answers in enumerate(rounds, start=1):
        for i, a in enumerate(answers):
            messages = ask(question) if r == 1 else [
                *ask(question),
                {"role": "assistant", "content": f"My earlier answer was {rounds[r - 2][i]}."},
                {"role": "user", "content": "Other agents answered differently. Update."},
            ]  # fmt: skip
            text = f"Round {r}, debater {i}: \\boxed{{{a}}}"
            trace.append(call("debater", messages, text, rnd=r, agent=i, temperature=1.0))
    final = rounds[-1]
    return record(qid, "debate", trace, max(final, key=final.count), {"final_answers": final})


def econ(qid, answers, responses=None, error=None):
    """Strategy, three executors, then a commitment (or a commitment call that failed)."""
    question, gold = QUESTIONS[qid]
    strategy = "Work out the May sales first, then add April's."
    temps = [0.214, 0.4, 0.587]
    responses = responses or [f"Step by step: \\boxed{{{a}}}" for a in answers]
    trace = [call("strategy", P.strategy_messages(question), strategy, max_tokens=50)]
    trace += [
        call("executor", P.executor_messages(question, strategy), text, agent=i, temperature=t)
        for i, (text, t) in enumerate(zip(responses, temps))
    ]
    messages = P.commit_messages(question, strategy, responses, answers)
    if error:
        failed = [{"error": "ReadTimeout", "prompt_tokens": 0, "completion_tokens": 0}] * 4
        trace.append(call("coordinator", messages, None, error=error, failed=failed))
        return record(qid, "econ", trace, None, error=error)
    commitment = f"Solutions 1 and 2 agree and check out. \\boxed{{{answers[0]}}}"
    trace.append(call("coordinator", messages, commitment))
    details = {
        "answer": answers[0], "strategy": strategy,
        "executors": [
            {"model": "qwen2.5-coder-0.5b", "controls": {"temperature": t}, "response": text,
             "finish_reason": "stop", "answer": a, "completion_tokens": 80}
            for t, text, a in zip(temps, responses, answers)
        ],
        "commitment": commitment, "decided_by": "commitment", "rounds": 0,
        "commitments": [answers[0]],
    }  # fmt: skip
    return record(qid, "econ", trace, answers[0], details)


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def config_yaml(methods: list[str]) -> str:
    return (
        "model: local:qwen2.5-coder-0.5b\nmax_tokens: 384\n"
        "econ:\n  n_executors: 3\n  controls:\n    temperature: [0.0, 0.8]\n"
        f"run:\n  benchmark: gsm8k\n  limit: 2\n  methods: [{', '.join(methods)}]\n"
    )


def compare_records() -> list[dict]:
    """q1: every method right (self-consistency says 72.0, the same number); q2: cot and
    debate wrong, self-consistency right, ECON's commitment call failed for good."""
    injected = f"48 / 2 = 24 in May {INJECTION} and 48 + 24 = 72. \\boxed{{72}}"
    plain = "48 / 2 = 24 clips in May, 48 + 24 = 72 in all. \\boxed{72}"
    return [
        cot("q1", "72"),
        self_consistency("q1", ["72.0", "72", "72"]),
        debate("q1", [["72", "96", "72"], ["72", "72", "72"]]),
        econ("q1", ["72", "72", "72"], [plain, injected, plain]),
        cot("q2", "12"),
        self_consistency("q2", ["10", "10", "0.2"]),
        debate("q2", [["12", "10", "600"], ["12", "12", "10"]]),
        econ("q2", ["10", "12", "10"], error="coordinator call failed after 5 requests"),
    ]


def make_compare_run(run: Path) -> list[dict]:
    """A finished compare run of the four methods on two questions; returns its records."""
    run.mkdir()
    records = compare_records()
    (run / "config.yaml").write_text(config_yaml(METHODS))
    write_jsonl(run / "records.jsonl", records)
    typed = [EvalRecord.model_validate(r) for r in records]
    report = build_report(typed, METHODS, get_benchmark("gsm8k"))
    (run / "summary.json").write_text(json.dumps(report))
    (run / "accuracy_vs_tokens.png").write_bytes(PNG)
    return records


def make_training_run(run: Path) -> list[dict]:
    """Three training episodes, the second lost to an LLM error, the third with a diverged
    loss (NaN, which Python's json writes and JSON.parse rejects); returns the episodes."""
    run.mkdir()
    episodes = [
        {"episode": 0, "id": "train-17", "gold": "18", "answer": "18", "correct": True,
         "reward_tot": 0.812, "rewards": [0.8, 0.9, 0.74], "actions": [[0.41], [0.37], [0.45]],
         "agree": [True, True, False], "rounds": 0, "stable": True, "tokens": 2210,
         "seconds": 31.2, "update_ms": None, "losses": None},
        {"episode": 1, "id": "train-3", "error": "executor call failed after 5 requests"},
        {"episode": 2, "id": "train-41", "gold": "5", "answer": "7", "correct": False,
         "reward_tot": 0.105, "rewards": [0.1, 0.12, 0.09],
         "actions": [{"temperature": 0.52}, {"temperature": 0.3}, {"temperature": 0.6}],
         "agree": [False, True, True], "rounds": 0, "stable": True, "tokens": 2540,
         "seconds": 29.9, "update_ms": 9.8, "losses": {"critic": float("nan")}},
    ]  # fmt: skip
    (run / "config.yaml").write_text(config_yaml(["econ"]))
    write_jsonl(run / "episodes.jsonl", episodes)
    (run / "training.png").write_bytes(PNG)
    return episodes


def view(*args: str):
    return CliRunner().invoke(app, ["view", *args])


# ---- reading the page --------------------------------------------------------------------


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.iter()

    def find_all(self, tag: str, **attrs: str) -> list[Node]:
        """Elements with this tag whose attributes hold these values (class: one of its
        classes)."""

        def has(node: Node, key: str, value: str) -> bool:
            got = node.attrs.get(key.rstrip("_").replace("_", "-"))
            return got is not None and (value in got.split() if key == "class_" else got == value)

        return [n for n in self.iter() if n.tag == tag and all(has(n, *kv) for kv in attrs.items())]

    def find(self, tag: str, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, (tag, attrs, len(found))
        return found[0]


class TreeBuilder(HTMLParser):
    VOID = {"meta", "img", "input", "br", "hr", "link"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.at = Node("#document", {}, None)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.at)
        self.at.children.append(node)
        if tag not in self.VOID:
            self.at = node

    def handle_endtag(self, tag):
        at = self.at
        while at.parent is not None and at.tag != tag:
            at = at.parent
        if at.parent is not None:
            self.at = at.parent

    def handle_data(self, data):
        self.at.children.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    return builder.root


def embedded(page: Node) -> dict:
    return json.loads(page.find("script", id="econ-data").text())


def chromium_dom(page: Path, fragment: str, tmp_path: Path) -> str | None:
    """The DOM after the page's script ran, or None where Chromium is not installed.

    The browser's console goes to stderr: a script error that stopped the page's setup part
    way (its event handlers, say) fails the test even when the DOM looks complete.
    """
    exe = shutil.which("chromium")
    if exe is None:
        return None
    proc = subprocess.run(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", "--enable-logging=stderr", "--v=0",
         "--dump-dom", page.resolve().as_uri() + fragment],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if "CONSOLE" in line]
    assert not errors, errors
    return proc.stdout


# ---- tests -------------------------------------------------------------------------------


def test_view_writes_one_self_contained_page(tmp_path):
    run = tmp_path / "run"
    records = make_compare_run(run)
    result = view(str(run))
    assert result.exit_code == 0, result.output
    page = run / "view.html"
    assert result.stdout.strip() == str(page)
    html = page.read_text()

    # Nothing to fetch: no external script, stylesheet or image; the plot is inlined.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html
    tree = parse(html)
    assert [s.attrs.get("src") for s in tree.find_all("script")] == [None, None]
    assert tree.find_all("img") == []  # the page's script adds the images
    data = embedded(tree)
    assert [p["name"] for p in data["plots"]] == ["accuracy_vs_tokens.png"]
    assert base64.b64decode(data["plots"][0]["src"].split(",", 1)[1]) == PNG

    # A response holding "</script>" neither ends the data script nor adds markup, and the
    # JSON gives it back exactly.
    assert INJECTION not in html and "<b>x</b>" not in html
    assert html.count("</script>") == 2
    assert any(INJECTION in c["response"] for r in data["records"] for c in r["trace"])

    # Every record with its full trace, ordered by question and then by the config's methods.
    order = [(r["id"], r["method"]) for r in data["records"]]
    assert order == [(q, m) for q in ("q1", "q2") for m in METHODS]
    as_read = [EvalRecord.model_validate(r).model_dump(mode="json") for r in records]
    assert sorted(data["records"], key=lambda r: (r["id"], r["method"])) == sorted(
        as_read, key=lambda r: (r["id"], r["method"])
    )
    assert data["summary"]["econ"]["errors"] == 1 and len(data["paired"]) == 3
    # "72" and "72.0" are the same answer; q2's methods disagree on answer and verdict.
    assert data["agreement"] == {
        "q1|0": {"answers_differ": False, "verdicts_differ": False},
        "q2|0": {"answers_differ": True, "verdicts_differ": True},
    }


def test_page_renders_in_chromium(tmp_path):
    """Rows, filters and the ECON drill-down as the browser shows them after the script ran;
    then a debate record, whose rounds are columns."""
    run = tmp_path / "run"
    records = make_compare_run(run)
    assert view(str(run)).exit_code == 0
    page = run / "view.html"
    q1_econ = 3
    dom = chromium_dom(page, f"#verdict=right&record={q1_econ}", tmp_path)
    if dom is None:
        warnings.warn("chromium is not installed: checked the static page only", stacklevel=1)
        check_static_page(parse(page.read_text()), records)
        return
    tree = parse(dom)

    rows = tree.find_all("tr", class_="record")
    assert len(rows) == len(records)  # drawn by the script: the static page has none
    shown = [r for r in rows if "hidden" not in r.attrs]
    assert [int(r.attrs["data-index"]) for r in shown] == [
        i for i, r in enumerate(records) if r["correct"]
    ]
    assert tree.find("span", id="f-count").text() == f"{len(shown)} of {len(records)} records"
    options = [o.attrs["value"] for o in tree.find("select", id="f-method").find_all("option")]
    assert options == ["", *METHODS]
    for name in ("f-verdict", "f-error", "f-agree"):
        assert len(tree.find("select", id=name).find_all("option")) >= 3
    summary = tree.find("table", id="summary-table").find("tbody").find_all("tr")
    assert [tr.find_all("td")[0].text() for tr in summary] == METHODS
    assert "50.0%" in summary[0].text()  # cot: q1 right, q2 wrong
    assert len(tree.find_all("img")) == 1
    curve = tree.find("table", id="curve-table").find("tbody").find_all("tr")
    assert [tr.find_all("td")[1].text() for tr in curve] == ["1", "2", "3"]  # SC@k, k <= 3
    (replay,) = tree.find("table", id="replay-table").find("tbody").find_all("tr")
    assert replay.find_all("td")[0].text() == "econ"
    verdicts = tree.find("ul", id="matched-list").find_all("li")
    assert any(li.text().startswith("econ ") and "@" in li.text() for li in verdicts)

    panel = tree.find("aside", id="panel")
    assert "hidden" not in panel.attrs
    assert panel.find("span", id="panel-title").text() == "q1 · econ"
    side = panel.find("div", class_="econ")
    cards = [c.find("div", class_="card-title").text() for c in side.find_all("div", class_="card")]
    assert cards == ["strategy", "executor 0: 72", "executor 1: 72", "executor 2: 72",
                     "commitment: 72"]  # fmt: skip
    assert "temperature 0.214" in side.text()
    calls = panel.find_all("details", class_="call")
    trace = records[q1_econ]["trace"]
    assert [c.attrs["data-role"] for c in calls] == [c["role"] for c in trace]
    for node, entry in zip(calls, trace):
        text = node.text()
        assert entry["messages"][0]["content"] in text and entry["response"] in text
        assert f"max_tokens {entry['max_tokens']}" in text and "finish stop" in text
    # The injected markup is text in the page, never an element.
    assert INJECTION in panel.text()
    assert not [b for b in tree.find_all("b") if b.text() == "x"]

    q2_debate = 6
    tree = parse(chromium_dom(page, f"#method=debate&verdict=wrong&record={q2_debate}", tmp_path))
    shown = [r for r in tree.find_all("tr", class_="record") if "hidden" not in r.attrs]
    assert [int(r.attrs["data-index"]) for r in shown] == [q2_debate]
    grid = tree.find("table", data_role="debater")
    assert [th.text() for th in grid.find_all("th")] == ["agent", "round 1", "round 2"]
    assert [tr.find_all("td")[0].text() for tr in grid.find("tbody").find_all("tr")] == [
        "debater 0", "debater 1", "debater 2"
    ]  # fmt: skip
    assert "Round 2, debater 2: \\boxed{10}" in grid.find("tbody").find_all("tr")[2].text()


def check_static_page(tree: Node, records: list[dict]) -> None:
    """Without a browser: the elements the script fills exist, and the JSON it reads holds
    every record, every call and the ECON details the drill-down shows."""
    for name in ("f-method", "f-verdict", "f-error", "f-agree"):
        assert len(tree.find("select", id=name).find_all("option")) >= 1
    tree.find("div", id="records-wrap")
    tree.find("div", id="panel-body")
    data = embedded(tree)
    assert [len(r["trace"]) for r in data["records"]] == [len(r["trace"]) for r in records]
    assert len(data["records"][3]["details"]["executors"]) == 3


def test_training_run_shows_curves_and_episodes(tmp_path):
    run = tmp_path / "train"
    episodes = make_training_run(run)
    result = view(str(run), "--out", str(tmp_path / "t.html"))
    assert result.exit_code == 0, result.output
    page = tmp_path / "t.html"
    assert result.stdout.strip() == str(page) and not (run / "view.html").exists()
    data = embedded(parse(page.read_text()))
    episodes[2]["losses"]["critic"] = None  # what the page can parse
    assert data["episodes"] == episodes and data["records"] == [] and data["summary"] == {}
    assert [p["name"] for p in data["plots"]] == ["training.png"]
    assert data["controls"] == ["temperature"]

    dom = chromium_dom(page, "", tmp_path)
    if dom is None:
        warnings.warn("chromium is not installed: checked the static page only", stacklevel=1)
        return
    tree = parse(dom)
    rows = tree.find("table", id="episodes-table").find_all("tr", class_="episode")
    assert len(rows) == 3
    assert "0: T 0.41" in rows[0].text() and "executor call failed" in rows[1].text()
    assert "1: T 0.30" in rows[2].text(), "episodes.jsonl's {control: value} actions"
    assert "hidden" in tree.find("section", id="records-section").attrs
    assert "hidden" in tree.find("section", id="summary-section").attrs


def test_a_run_still_being_written(tmp_path):
    """No summary yet: it is computed from the records; a resumed question's latest record
    wins; a half-written last line is skipped and the file left as it is."""
    run = tmp_path / "run"
    run.mkdir()
    failed = econ("q1", ["72", "72", "72"], error="timed out")
    good = [cot("q1", "72"), failed, econ("q1", ["72", "72", "72"]), cot("q2", "12")]
    (run / "config.yaml").write_text(config_yaml(["cot", "econ"]))
    write_jsonl(run / "records.jsonl", good)
    with open(run / "records.jsonl", "a") as f:
        f.write('{"id": "q2", "method": "econ", "tra')
    before = (run / "records.jsonl").read_bytes()
    assert view(str(run)).exit_code == 0
    assert (run / "records.jsonl").read_bytes() == before
    data = embedded(parse((run / "view.html").read_text()))
    assert [(r["id"], r["method"], r["error"]) for r in data["records"]] == [
        ("q1", "cot", None), ("q1", "econ", None), ("q2", "cot", None)
    ]  # fmt: skip
    assert data["summary"]["econ"]["accuracy"] == 1.0 and data["summary"]["cot"]["n"] == 2
    assert data["paired"][0]["a"] == "cot" and data["plots"] == []


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda p: p, "does not exist"),
        (lambda p: (p.mkdir(), p)[1], "not a run directory"),
        (lambda p: (p.write_text("x"), p)[1], "is not a directory"),
    ],
)
def test_what_is_not_a_run_is_one_line_and_exit_2(tmp_path, make, needle):
    path = make(tmp_path / "somewhere")
    result = view(str(path))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert not (tmp_path / "somewhere" / "view.html").exists()


def test_a_runaway_reply_is_shown_cut_and_the_page_stays_small(tmp_path):
    """One 3 MB response: the page embeds its start and end with a note, the verdicts are the
    run's (read from the whole text), and the records file is left whole."""
    from econ.view import SHOWN_CHARS

    run = tmp_path / "run"
    run.mkdir()
    runaway = "Let me think. " + "and then " * 350_000 + "so \\boxed{72}"
    records = [econ("q1", ["72", "72", "72"], responses=[runaway, "\\boxed{72}", "\\boxed{72}"])]
    (run / "config.yaml").write_text(config_yaml(["econ"]))
    write_jsonl(run / "records.jsonl", records)
    before = (run / "records.jsonl").read_bytes()
    assert view(str(run)).exit_code == 0
    assert (run / "records.jsonl").read_bytes() == before
    page = run / "view.html"
    assert page.stat().st_size < len(runaway) // 10
    data = embedded(parse(page.read_text()))
    (executor0,) = [c for c in data["records"][0]["trace"] if c["agent"] == 0]
    shown = executor0["response"]
    assert len(shown) < SHOWN_CHARS + 100 and shown.endswith("so \\boxed{72}")
    assert shown.startswith("Let me think.") and "characters not shown here" in shown
    assert data["clipped"] >= 2  # the trace's response and the details' copy of it
    assert data["summary"]["econ"]["accuracy"] == 1.0


def test_an_executor_not_asked_shows_as_such(tmp_path):
    """Two waves: the first two executors agreed, the third was never asked (null)."""
    run = tmp_path / "run"
    run.mkdir()
    rec = econ("q1", ["72", "72", "72"])
    rec["trace"] = [c for c in rec["trace"] if c["agent"] != 2 and c["role"] != "coordinator"]
    rec["details"]["executors"][2] = None
    rec["details"]["decided_by"] = "unanimous"
    (run / "config.yaml").write_text(config_yaml(["econ"]))
    write_jsonl(run / "records.jsonl", [rec])
    assert view(str(run)).exit_code == 0
    dom = chromium_dom(run / "view.html", "#record=0", tmp_path)
    if dom is None:
        warnings.warn("chromium is not installed: checked the static page only", stacklevel=1)
        return
    assert "executor 2: not asked" in dom and "the first wave agreed" in dom
