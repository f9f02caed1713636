"""Pull a final answer out of a free-form model response (SPEC section 6).

Models state answers in many styles. An explicit final answer wins over everything written
after it (checks, notes, parentheticals), so extraction tries, in order:

1. the last ``\\boxed{...}`` (or ``\\fbox{...}``);
2. the last ``#### N`` (the GSM8K training format);
3. the last answer phrase ("the answer is", "final answer:", "Answer -") that starts a line
   or a sentence, or whose value ends the sentence, and that has a value right after it, so
   headings ("Let's work out the answer:"), prose ("the answer is found by") and hedges
   ("One might think the answer is yes, but") do not count;
4. for yes/no tasks, a leading verdict line ("Yes." / "**No**" / "Final answer - Yes");
5. only when the response finished normally: the last number (or yes/no word) in the text,
   for MATH the last LaTeX expression that math-verify finds, for free text the last line.
   A response cut off at the token limit without an explicit answer has no answer: the
   number it stopped on is noise.

LaTeX braces nest, so boxed content is found with a small brace-matching scanner rather than
a regex, and no regex replacement strings are used anywhere (backslashes in them are easy to
mangle).
"""

from __future__ import annotations

import re

_BOX_RE = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_WRAPPER_RE = re.compile(r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mbox)\s*\{")
# "answer is", "answer:", "Final answer - ", "**Answer:** " ... but not a bare "answer".
_PHRASE_RE = re.compile(
    r"\b(?:final\s+)?answer\b[ \t*_]*(?:is\b|:|=|-(?=\s)|\u2014)[ \t*_:]*", re.IGNORECASE
)
# What may stand before an answer phrase that starts a sentence: markdown, a connective, "the".
_LEAD_RE = re.compile(
    r"[\s>*#_\-]*(?:(?:so|thus|therefore|hence|finally|overall|in conclusion|in summary|"
    r"in total|in short)\b[,:]?\s*)?(?:(?:the|my|our)\s+)?",
    re.IGNORECASE,
)
_SENTENCE_END_RE = re.compile(r"[.!?](?=\s|$)|\n")
_HASHES_RE = re.compile(r"####[ \t]*")
_VERDICT_RE = re.compile(
    r"[\s>*#_]*(?:(?:final\s+)?answer\b[ \t*_]*(?:is\b|:|-|\u2014)?[ \t*_:]*)?"
    r"(yes|no|true|false)\b[*_]*(?=\s*(?:[.,!:;)\-\u2014]|$))",
    re.IGNORECASE | re.MULTILINE,
)
# A value right after an answer phrase: what each answer kind may start with.
_NUMERIC_START = r"[-+\u2212]?\s*\\?\$?\s*[-\u2212]?\.?\d|\\[(\[]|\$|\\d?frac|\\boxed"
_YESNO_START = r"(?:\\text\{|\\boxed\{|\*\*)?\s*(?:yes|no|true|false)\b"
_VALUE_START = {
    "numeric": re.compile(_NUMERIC_START),
    "yesno": re.compile(_YESNO_START, re.IGNORECASE),
    "mixed": re.compile(_NUMERIC_START + "|" + _YESNO_START, re.IGNORECASE),
    "math": re.compile(r"[-+\u2212(\[{\\$\d]|[A-Za-z](?![A-Za-z])"),
    "text": re.compile(r"\S"),
}
# What opens a line without being part of its text: quote, heading and list markers.
_LINE_MARK_RE = re.compile(r"\s*(?:(?:[>#]+|[-*+](?=\s))\s*)*")
# A free-text answer inside markdown emphasis or code marks and before a closing full stop.
_TEXT_MARKUP_RE = re.compile(r"[\s*`]*(.*?)[\s*`.]*", re.DOTALL)
_PAREN_RE = re.compile(r"\([^()]*\)")
# "-$42" and "-\$42": the sign belongs to the number behind the currency sign.
_NEG_CURRENCY_RE = re.compile(r"[-\u2212]\s*\\?\$\s*(?=\d)")
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
    """LaTeX wrappers off, "-$42" kept negative, other dollar signs blanked out."""
    text = plain_latex(text)
    out, pos = [], 0
    for match in _NEG_CURRENCY_RE.finditer(text):
        out += [text[pos : match.start()], "-"]
        pos = match.end()
    out.append(text[pos:])
    return "".join(out).replace("\\$", " ").replace("$", " ")


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


# ---- explicit answers -----------------------------------------------------------------------


def _value_after(text: str, start: int, kind: str) -> str | None:
    """The value that starts right after ``start`` (line breaks allowed before it): a display
    or inline math block, else the rest of the sentence. None when something else (a word, a
    heading's end) comes first."""
    i = start
    while i < len(text) and text[i] in " \t\n*_:":
        i += 1
    if not _VALUE_START[kind].match(text, i):
        return None
    delimiters = [("\\[", "\\]"), ("$$", "$$"), ("\\(", "\\)")]
    if kind == "math":
        delimiters.append(("$", "$"))
    for opener, closer in delimiters:
        if text.startswith(opener, i):
            end = text.find(closer, i + len(opener))
            value = text[i + len(opener) : end].strip() if end > 0 else ""
            return value or None
    stop = _SENTENCE_END_RE.search(text, i)
    value = text[i : stop.start() if stop else len(text)].strip().strip("*_").strip()
    return value or None


def _is_bare(value: str, kind: str) -> bool:
    """Whether the value is the whole rest of its sentence ("is 18 dollars.") rather than the
    start of more prose ("is yes, but ...", "is 5, and 10 was wrong")."""
    if kind == "math":
        return True
    if to_yesno(value) is not None and re.fullmatch(r"\W*\w+\W*", value):
        return True
    return parse_number(_PAREN_RE.sub(" ", value).rsplit("=", 1)[-1]) is not None


def _starts_sentence(text: str, phrase_start: int) -> bool:
    """Whether only markdown, a connective and an article stand between the phrase and the
    start of its line or sentence."""
    line_start = text.rfind("\n", 0, phrase_start) + 1
    before = text[line_start:phrase_start]
    ends = list(re.finditer(r"[.!?](?=\s)", before))
    if ends:
        before = before[ends[-1].end() :]
    return _LEAD_RE.fullmatch(before) is not None


def _phrase_value(text: str, kind: str) -> str | None:
    """The value of the last answer phrase that counts (see the module docstring)."""
    found = None
    for match in _PHRASE_RE.finditer(text):
        value = _value_after(text, match.end(), kind)
        if value is not None and (_starts_sentence(text, match.start()) or _is_bare(value, kind)):
            found = value
    return found


def _hashes_value(text: str) -> str | None:
    """The value after the last "#### " marker."""
    found = None
    for match in _HASHES_RE.finditer(text):
        found = _value_after(text, match.end(), "numeric") or found
    return found


def _explicit(text: str, kind: str) -> list[str]:
    """Explicitly stated answers, most explicit first: boxed, "####", then an answer phrase."""
    return [c for c in (last_boxed(text), _hashes_value(text), _phrase_value(text, kind)) if c]


def _number_in(candidate: str) -> str | None:
    """The number an explicit value states: the whole value, else its first number.

    Parentheticals are notes ("18 (= 9 eggs x $2)"); in "3 + 4 = 7" the part after the
    last "=" is the answer.
    """
    bare = _PAREN_RE.sub(" ", candidate) if _PAREN_RE.sub(" ", candidate).strip() else candidate
    candidate = bare.rsplit("=", 1)[-1]
    value = parse_number(candidate)
    if value is None:
        match = _NUMBER_RE.search(_clean_for_search(candidate))
        value = parse_number(match.group(0)) if match else None
    return None if value is None else format_number(value)


def leading_verdict(text: str) -> str | None:
    """"yes"/"no" when the response opens with a verdict ("Yes." / "**No**," / "Answer - Yes")."""
    match = _VERDICT_RE.match(text)
    return _YESNO_MAP[match.group(1).lower()] if match else None


# ---- per answer kind ------------------------------------------------------------------------
# `finished` is False for a response cut off at the token limit: then only an explicit answer
# counts. `explicit_only` is for texts whose prose is commentary (a coordinator's commitment).


def extract_numeric(text: str, finished: bool = True, explicit_only: bool = False) -> str | None:
    """Canonical number ("1000", "-3.5") that the response gives as its answer."""
    for candidate in _explicit(text, "numeric"):
        number = _number_in(candidate)
        if number is not None:
            return number
    if not finished or explicit_only:
        return None
    last = _last_number(text)
    return last[0] if last else None


def extract_yesno(text: str, finished: bool = True, explicit_only: bool = False) -> str | None:
    """The response's answer as "yes" or "no", None when it gives neither."""
    for candidate in _explicit(text, "yesno"):
        answer = to_yesno(candidate)
        if answer is not None:
            return answer
    verdict = leading_verdict(text)
    if verdict is not None or not finished or explicit_only:
        return verdict
    last = _last_yesno(text)
    return last[0] if last else None


def extract_mixed(text: str, finished: bool = True, explicit_only: bool = False) -> str | None:
    """Yes/no or a number, for sets that mix both (the demo set).

    An explicit answer is read as yes/no when it is one, else as a number; without one the
    later of the last number and the last yes/no word wins.
    """
    for candidate in _explicit(text, "mixed"):
        answer = to_yesno(candidate) or _number_in(candidate)
        if answer is not None:
            return answer
    if not finished or explicit_only:
        return None
    found = [hit for hit in (_last_number(text), _last_yesno(text)) if hit]
    return max(found, key=lambda hit: hit[1])[0] if found else None


def text_answer(s: str) -> str:
    """A free-text answer without the markup around it: ``\\text{}`` wrappers, markdown
    emphasis or code marks, a closing full stop ("**Paris**." is "Paris")."""
    return _TEXT_MARKUP_RE.fullmatch(unwrap_text(s)).group(1)


def extract_text(text: str, finished: bool = True, explicit_only: bool = False) -> str | None:
    """A free-text answer (a name, a word, a phrase) as written, None when there is none.

    Without an explicit answer, a finished response's last non-blank line is its answer:
    free text has no shape (like a number) to find it by elsewhere.
    """
    for candidate in _explicit(text, "text"):
        answer = text_answer(candidate)
        if answer:
            return answer
    if not finished or explicit_only:
        return None
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        return None
    last = lines[-1]
    return text_answer(last[_LINE_MARK_RE.match(last).end() :]) or None


def _math_value(candidate: str) -> str:
    """A LaTeX answer from an explicit value: the first ``$...$`` span when there is one."""
    parts = candidate.split("$")
    if len(parts) >= 3 and parts[1].strip():
        return parts[1].strip()
    return candidate.replace("$", "").strip().rstrip(".").strip()


def extract_math(text: str, finished: bool = True, explicit_only: bool = False) -> str | None:
    """LaTeX answer (kept as written, for symbolic comparison).

    Without an explicit one, math-verify reads the last LaTeX expression of a finished
    response: it knows ``$2\\sqrt{3}$`` is one value where a number regex sees 2 and 3. Only
    then the last plain number.
    """
    for candidate in _explicit(text, "math"):
        value = _math_value(candidate)
        if value:
            return value
    if not finished or explicit_only:
        return None
    from math_verify import LatexExtractionConfig, parse  # heavy; only unboxed MATH needs it

    try:
        parsed = parse(text, [LatexExtractionConfig()], parsing_timeout=None)
    except Exception:  # math-verify raises assorted errors on odd text; then no answer
        parsed = []
    if len(parsed) >= 2 and isinstance(parsed[1], str) and parsed[1].strip():
        return parsed[1].strip()
    last = _last_number(text)
    return last[0] if last else None
