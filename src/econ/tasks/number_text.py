"""Numbers written as text, in prose or LaTeX, read as values and written back canonically.

Extraction (econ.tasks.extract) finds where a response states its answer; this module reads
which number that text states, and grading compares those values. LaTeX braces nest, so brace
groups are read with a small scanner rather than a regex, and no regex replacement strings
are used anywhere (backslashes in them are easy to mangle).
"""

from __future__ import annotations

import re

_WRAPPER_RE = re.compile(r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mbox)\s*\{")
# "-$42" and "-\$42": the sign belongs to the number behind the currency sign.
_NEG_CURRENCY_RE = re.compile(r"[-\u2212]\s*\\?\$\s*(?=\d)")

# A number inside prose. The sign counts only when the minus is not a binary operator:
# not glued to a preceding word/bracket ("3-4") and not after "digit space" ("10 - 4").
_SIGN = r"(?:(?<![\w)\]}])(?<!\d )-)?"
_PLAIN = r"(?:(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|\.\d+)"
_NUMBER_RE = re.compile(
    _SIGN + r"(?:\\frac\{[^{}]*\}\{[^{}]*\}|\\frac\d\d|" + _PLAIN + r"(?:\s*/\s*" + _PLAIN + r")?)"
)
_PLAIN_FULL_RE = re.compile(r"(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_TRAILING_UNIT_RE = re.compile(r"(.*?[\d}])\s*[A-Za-z][A-Za-z\s.]*")

# Tokens that never change a number's value: currency, percent, LaTeX spacing, degrees.
_NOISE = (
    "\\$",
    "$",
    "\\%",
    "%",
    "\\!",
    "\\,",
    "\\;",
    "\\ ",
    "~",
    "^\\circ",
    "^{\\circ}",
    "\\circ",
    "\\left",
    "\\right",
    "**",
)


def read_group(text: str, start: int) -> tuple[str, int] | None:
    """Return the content of the brace group opening at ``text[start]`` and the index after it.

    Escaped braces (``\\{``) do not count. None when the group never closes.
    """
    depth = 0
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i], i + 1
        i += 1
    return None


def unwrap_text(s: str) -> str:
    """Replace ``\\text{X}`` (and similar font wrappers) by ``X``, nested ones included."""
    while True:
        match = _WRAPPER_RE.search(s)
        if match is None:
            return s
        group = read_group(s, match.end() - 1)
        if group is None:
            return s[: match.start()] + s[match.end() :]
        s = s[: match.start()] + group[0] + s[group[1] :]


def plain_latex(s: str) -> str:
    """Text wrappers removed, Unicode minus and \\dfrac/\\tfrac spelled the plain way."""
    s = unwrap_text(s).replace("\u2212", "-")
    return s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")


def _clean_number_text(s: str) -> str:
    s = plain_latex(s)
    for token in _NOISE:
        s = s.replace(token, "")
    s = s.strip().rstrip(".").strip()
    unit = _TRAILING_UNIT_RE.fullmatch(s)
    if unit:
        s = unit.group(1)
    return "".join(s.split())


def _frac_arg(s: str, i: int) -> tuple[str, int] | None:
    """One argument of ``\\frac``: a brace group or a single character (``\\frac12``)."""
    if i >= len(s):
        return None
    if s[i] == "{":
        return read_group(s, i)
    return s[i], i + 1


def _parse_unsigned(s: str) -> float | None:
    if s.startswith("\\frac"):
        num = _frac_arg(s, 5)
        den = _frac_arg(s, num[1]) if num else None
        if num is None or den is None or den[1] != len(s):
            return None
        return _ratio(parse_number(num[0]), parse_number(den[0]))
    if s.count("/") == 1:
        left, right = s.split("/")
        return _ratio(parse_number(left), parse_number(right))
    if _PLAIN_FULL_RE.fullmatch(s):
        return float(s.replace(",", ""))
    return None


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den == 0:
        return None
    return num / den


def parse_number(s: str | None) -> float | None:
    """Value of a number written as text: "1,234", "$5", "5%", "-7", "2.50", "3/4",
    "\\frac{3}{4}", "18 dollars". None when it is not a single number."""
    if s is None:
        return None
    s = _clean_number_text(s)
    if s.startswith("(") and s.endswith(")"):
        s = s[1:-1]
    sign = 1.0
    while s[:1] in ("-", "+"):
        if s[0] == "-":
            sign = -sign
        s = s[1:]
    value = _parse_unsigned(s) if s else None
    return None if value is None else sign * value


def format_number(value: float) -> str:
    """Canonical text for a number: integers without ".0", others with 15 significant digits."""
    if value.is_integer():
        return str(int(value))
    return format(value, ".15g")


def clean_for_search(text: str) -> str:
    """LaTeX wrappers off, "-$42" kept negative, other dollar signs blanked out."""
    text = plain_latex(text)
    out, pos = [], 0
    for match in _NEG_CURRENCY_RE.finditer(text):
        out += [text[pos : match.start()], "-"]
        pos = match.end()
    out.append(text[pos:])
    return "".join(out).replace("\\$", " ").replace("$", " ")


def last_number(text: str) -> tuple[str, int] | None:
    """The last number in the text, canonical, with its position in ``clean_for_search(text)``."""
    cleaned = clean_for_search(text)
    for match in reversed(list(_NUMBER_RE.finditer(cleaned))):
        value = parse_number(match.group(0))
        if value is not None:
            return format_number(value), match.start()
    return None


def first_number(text: str) -> float | None:
    """The value of the first number in the text; None when it has none, or when that one
    does not read as a number."""
    match = _NUMBER_RE.search(clean_for_search(text))
    return parse_number(match.group(0)) if match else None
