"""The README's Python API section runs as written (with the tiny packaged model in place of
the two it names, which a test machine need not have fetched), and its two set-up commands
are the ones CI and a new user run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


@pytest.mark.llm
def test_the_python_api_example_runs(capsys):
    (code,) = re.findall(r"```python\n(.*?)```", section("Python API"), re.DOTALL)
    for name in ("qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"):
        assert f"local:{name}" in code
        code = code.replace(f"local:{name}", "local:smollm2-135m")
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 (the README's own code)
    result = namespace["result"]
    assert result.decided_by in {"unanimous", "vote", "commitment", "reask", "majority"}
    assert result.usage.calls >= 3 and capsys.readouterr().out.count("\n") == 3


def test_the_readme_is_a_newcomers_page_with_its_two_commands():
    text = README.read_text(encoding="utf-8")
    assert text.count("\n") < 250
    commands = re.findall(r"```bash\n(python3 -m venv .*?)\n```", section("Set up"))
    assert len(commands) == 2
    ci = (README.parent / ".ci" / "run").read_text()
    assert commands[1].split(" && ", 2)[2] in ci  # the test command, exactly
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (README.parent / link).is_file(), link
