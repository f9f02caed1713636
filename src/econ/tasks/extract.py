"""Pull a final answer out of a free-form model response (SPEC section 6).

Models state answers in many styles, so extraction tries the most explicit form first:
the last ``\\boxed{...}`` (or ``\\fbox{...}``), then the value after the last "answer is" /
"answer:", then the last number (or yes/no word) anywhere in the text. LaTeX braces nest,
so boxed content is found with a small brace-matching scanner rather than a regex, and no
regex replacement strings are used anywhere (backslashes in them are easy to mangle).
"""

from __future__ import annotations

import re

_BOX_RE = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_WRAPPER_RE = re.compile(r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mbox)\s*\{")
# "answer is", "answer:", "**Answer:**", "answer is: " ... but not a bare "answer" in prose.
_PHRASE_RE = re.compile(r"\banswer\b[\s*]*(?:is\b|:)[\s*:]*", re.IGNORECASE)
_YESNO_RE = re.compile(r"\b(yes|no|true|false)\b", re.IGNORECASE)
_YESNO_MAP = {"yes": "yes", "true": "yes", "no": "no", "false": "no"}

# A number inside prose. The sign counts only when the minus is not a binary operator:
# not glued to a preceding word/bracket ("3-4") and not after "digit space" ("10 - 4").
_SIGN = r"(?:(?<![\w)\]}])(?<!\d )-)?"
_PLAIN = r"(?:(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|\.\d+)"
_NUMBER_RE = re.compile(
    _SIGN + r"(?:\\frac\{[^{}]*\}\{[^{}]*\}|\\frac\d\d|" + _PLAIN + r"(?:\s*/\s*" + _PLAIN + r")?)"
)
_PLAIN_FULL_RE = re.compile(
    r"(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
)
_TRAILING_UNIT_RE = re.compile(r"(.*?[\d}])\s*[A-Za-z][A-Za-z\s.]*")

# Tokens that never change a number's value: currency, percent, LaTeX spacing, degrees.
_NOISE = ("\\$", "$", "\\%", "%", "\\!", "\\,", "\\;", "\\ ", "~", "^\\circ", "^{\\circ}",
          "\\circ", "\\left", "\\right", "**")


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


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}``/``\\fbox{...}`` (or ``\\boxed 5``), stripped."""
    found = None
    for match in _BOX_RE.finditer(text):
        i = match.end()
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text) and text[i] == "{":
            group = read_group(text, i)
            if group is not None:
                found = group[0].strip()
        elif i > match.end():
            token = re.match(r"[^\s$]+", text[i:])
            if token:
                found = token.group(0)
    return found


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


def answer_phrase(text: str) -> str | None:
    """The rest of the line after the last "answer is"/"answer:", without markdown or period."""
    matches = list(_PHRASE_RE.finditer(text))
    if not matches:
        return None
    rest = text[matches[-1].end() :].strip()
    value = rest.split("\n", 1)[0].replace("**", "").strip()
    value = value.rstrip(".").strip()
    return value or None


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


def _number_in(candidate: str) -> str | None:
    """The number a boxed/"answer is" value states: the whole value, else its first number.

    For "3 + 4 = 7" the part after the last "=" is the answer.
    """
    candidate = candidate.rsplit("=", 1)[-1]
    value = parse_number(candidate)
    if value is None:
        match = _NUMBER_RE.search(_clean_for_search(candidate))
        value = parse_number(match.group(0)) if match else None
    return None if value is None else format_number(value)


def _clean_for_search(text: str) -> str:
    return plain_latex(text).replace("\\$", " ").replace("$", " ")


def _last_number(text: str) -> tuple[str, int] | None:
    """The last number in the text with its position."""
    cleaned = _clean_for_search(text)
    for match in reversed(list(_NUMBER_RE.finditer(cleaned))):
        value = parse_number(match.group(0))
        if value is not None:
            return format_number(value), match.start()
    return None


def to_yesno(s: str | None) -> str | None:
    """The first yes/no/true/false word in ``s`` as "yes" or "no", else None."""
    if s is None:
        return None
    match = _YESNO_RE.search(unwrap_text(s))
    return _YESNO_MAP[match.group(1).lower()] if match else None


def _last_yesno(text: str) -> tuple[str, int] | None:
    """The last yes/no word with its position (in the same cleaned text as ``_last_number``)."""
    matches = list(_YESNO_RE.finditer(_clean_for_search(text)))
    if not matches:
        return None
    return _YESNO_MAP[matches[-1].group(1).lower()], matches[-1].start()


def _explicit(text: str) -> list[str]:
    """Explicitly stated answers, most explicit first: boxed content, then "answer is" value."""
    return [c for c in (last_boxed(text), answer_phrase(text)) if c]


def extract_numeric(text: str) -> str | None:
    """Canonical number ("1000", "-3.5") that the response gives as its answer."""
    for candidate in _explicit(text):
        number = _number_in(candidate)
        if number is not None:
            return number
    last = _last_number(text)
    return last[0] if last else None


def extract_yesno(text: str) -> str | None:
    """The response's answer as "yes" or "no", None when it gives neither."""
    for candidate in _explicit(text):
        answer = to_yesno(candidate)
        if answer is not None:
            return answer
    last = _last_yesno(text)
    return last[0] if last else None


def extract_mixed(text: str) -> str | None:
    """Yes/no or a number, for sets that mix both (the demo set).

    An explicit answer is read as yes/no when it is one, else as a number; without one the
    later of the last number and the last yes/no word wins.
    """
    for candidate in _explicit(text):
        answer = to_yesno(candidate) or _number_in(candidate)
        if answer is not None:
            return answer
    found = [hit for hit in (_last_number(text), _last_yesno(text)) if hit]
    return max(found, key=lambda hit: hit[1])[0] if found else None


def _math_value(candidate: str) -> str:
    """A LaTeX answer from an "answer is" value: the first ``$...$`` span when there is one."""
    parts = candidate.split("$")
    if len(parts) >= 3 and parts[1].strip():
        return parts[1].strip()
    return candidate.replace("$", "").strip().rstrip(".").strip()


def extract_math(text: str) -> str | None:
    """LaTeX answer (kept as written, for symbolic comparison), else the last number."""
    boxed = last_boxed(text)
    if boxed:
        return boxed
    phrase = answer_phrase(text)
    if phrase and _math_value(phrase):
        return _math_value(phrase)
    last = _last_number(text)
    return last[0] if last else None
