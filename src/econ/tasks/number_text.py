"""Numbers written as text, in prose or LaTeX, read as values and written back canonically.

Extraction (econ.tasks.extract) finds where a response states its answer; this module reads
which number that text states, and grading compares those values. LaTeX braces nest, so brace
groups are read with a small scanner rather than a regex, and no regex replacement strings
are used anywhere (backslashes in them are easy to mangle).
"""

from __future__ import annotations

import ast
import math
import operator
import re

_WRAPPER_RE = re.compile(r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mbox)\s*\{")
# "-$42" and "-\$42": the sign belongs to the number behind the currency sign.
_NEG_CURRENCY_RE = re.compile(r"[-\u2212]\s*\\?\$\s*(?=\d)")

# A number inside prose. The sign counts only when the minus is not a binary operator:
# not glued to a preceding word/bracket ("3-4") and not after "digit space" ("10 - 4").
_SIGN = r"(?:(?<![\w)\]}])(?<!\d )-)?"
# Thousands groups: "1,000", "1\,000" and "1 000" with a thin space, or with a plain space
# when the group is not the start of another quantity ("5 100-dollar bills" is 5 and 100).
_GROUP_SEP = r"(?:,|\\,|\\ |~|\u2009|\u202f| (?=\d{3}(?![\d\-]|[.,]\d)))"
_PLAIN = r"(?:(?:\d{1,3}(?:" + _GROUP_SEP + r"\d{3})+(?!\d)|\d+)(?:\.\d+)?|\.\d+)"
# Scientific notation after a number: "1.2e6", "1.2 \times 10^6", "3 x 10^{4}".
_TIMES = r"(?:\\times|\\cdot|\u00d7|x|\*|\u00b7)"
_EXPONENT = r"(?:[eE][-+]?\d+(?!\w)|\s*" + _TIMES + r"\s*10\^\{?[-+]?\d+\}?)"
_NUMBER_RE = re.compile(
    _SIGN
    + r"(?:\\frac\{[^{}]*\}\{[^{}]*\}|\\frac\d\d|"
    + _PLAIN
    + r"(?:"
    + _EXPONENT
    + r"|\s*/\s*"
    + _PLAIN
    + r")?)"
)
_PLAIN_FULL_RE = re.compile(r"(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_POWER_FULL_RE = re.compile(r"(.+?)" + _TIMES + r"10\^(?:\{([-+]?\d+)\}|([-+]?\d+))")
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
        return _finite(float(s.replace(",", "")))
    power = _POWER_FULL_RE.fullmatch(s)
    if power and _PLAIN_FULL_RE.fullmatch(power.group(1)):
        exponent = int(power.group(2) or power.group(3))
        if abs(exponent) <= 300:
            return _finite(float(power.group(1).replace(",", "")) * 10.0**exponent)
    return None


def _finite(value: float) -> float | None:
    """A value too large for a float ("1e999") is no number to grade."""
    return value if math.isfinite(value) else None


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


# ---- numbers in words and unevaluated arithmetic ---------------------------------------------

_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_WORD_VALUES = {w: i for i, w in enumerate(_UNITS)} | {w: 10 * (i + 2) for i, w in enumerate(_TENS)}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_WORD = "|".join(sorted([*_WORD_VALUES, *_SCALES, "dozen"], key=len, reverse=True))
# A run of number words ("twenty-one", "one hundred and five", "a dozen"), case-insensitive.
WORDS_NUMBER_RE = re.compile(
    rf"\b(?:an?\s+)?(?:{_WORD})(?:(?:\s+and\s+|[\s-]+)(?:{_WORD}))*\b", re.IGNORECASE
)


def words_value(s: str) -> float | None:
    """The value of a number written in words ("twenty-one", "one hundred and five",
    "a dozen", "three thousand"), None when `s` is not one."""
    words = re.split(r"[\s-]+", s.strip().lower())
    if words[:1] in (["a"], ["an"]):
        words = ["one", *words[1:]]
    total = group = 0
    seen = False
    for word in words:
        if word == "and" and seen:
            continue
        if word in _WORD_VALUES:
            group += _WORD_VALUES[word]
        elif word == "dozen":
            group = (group or 1) * 12
        elif word == "hundred":
            group = (group or 1) * 100
        elif word in _SCALES:
            total, group = total + (group or 1) * _SCALES[word], 0
        else:
            return None
        seen = True
    return float(total + group) if seen else None


_ARITHMETIC_RE = re.compile(r"[\d.\s+\-*/()]+")
_ARITHMETIC_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
                   ast.Div: operator.truediv}  # fmt: skip
_OPERATORS = {"\\times": "*", "\\cdot": "*", "\u00d7": "*", "\u00b7": "*", "\\div": "/",
              "\u00f7": "/", "\u2212": "-"}  # fmt: skip


def arithmetic_value(s: str) -> float | None:
    """The value of an unevaluated sum such as "12 + 6" or "(2 + 3) \\times 4": numbers,
    + - * / and parentheses only (no powers, so nothing explodes); None for anything else."""
    s = _clean_number_text(s) if len(s) <= 200 else ""
    for symbol, op in _OPERATORS.items():
        s = s.replace(symbol, op)
    s = s.replace(",", "")
    if not s or not _ARITHMETIC_RE.fullmatch(s) or not any(op in s[1:] for op in "+-*/"):
        return None

    def value(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner = value(node.operand)
            return -inner if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC_OPS:
            return _ARITHMETIC_OPS[type(node.op)](value(node.left), value(node.right))
        raise ValueError(node)

    try:
        return _finite(value(ast.parse(s, mode="eval").body))
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, RecursionError):
        return None
