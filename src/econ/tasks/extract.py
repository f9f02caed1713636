"""Pull a final answer out of a free-form model response (docs/how_econ_works.md).

Models state answers in many styles. An explicit final answer wins over everything written
after it (checks, notes, parentheticals), so extraction tries, in order:

1. the last ``\\boxed{...}`` (or ``\\fbox{...}``);
2. the last ``#### N`` (the GSM8K training format);
3. the last answer phrase ("the answer is", "final answer:", "Answer -") that starts a line
   or a sentence, or whose value ends the sentence, and that has a value right after it, so
   headings ("Let's work out the answer:"), prose ("the answer is found by") and hedges
   ("One might think the answer is yes, but") do not count;
4. for yes/no tasks, a leading verdict line ("Yes." / "**No**" / "Final answer - Yes");
5. only when the response finished normally: the last number (or yes/no word) in the text
   (a number in words only when it has no digits at all),
   for MATH the last LaTeX expression that math-verify finds, for free text the last line.
   A response cut off at the token limit without an explicit answer has no answer: the
   number it stopped on is noise.

Which number a stated value means is read by econ.tasks.number_text, whose names grading
imports from here too. LaTeX braces nest, so boxed content is found with its brace-matching
scanner rather than a regex, and no regex replacement strings are used anywhere (backslashes
in them are easy to mangle).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from econ.tasks.number_text import (
    WORDS_NUMBER_RE,
    arithmetic_value,
    clean_for_search,
    first_number,
    format_number,
    last_number,
    parse_number,
    read_group,
    unwrap_text,
    words_value,
)
from econ.tasks.number_text import plain_latex as plain_latex  # grading imports it here

_BOX_RE = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
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
_NUMERIC_START += "|(?i:" + WORDS_NUMBER_RE.pattern + ")"  # "the answer is twelve"
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
_YESNO_RE = re.compile(r"\b(yes|no|true|false)\b", re.IGNORECASE)
# "a yes or no question", "yes/no", "true or false": naming the choice is not making it.
_CHOICE_RE = re.compile(
    r"\b(?:yes|no|true|false)\s*(?:/|\bor\b|-or-)\s*(?:yes|no|true|false)\b", re.IGNORECASE
)


def _without_choices(text: str) -> str:
    """`text` with every "yes or no" blanked out, positions kept."""
    return _CHOICE_RE.sub(lambda m: " " * len(m.group(0)), text)


_YESNO_MAP = {"yes": "yes", "true": "yes", "no": "no", "false": "no"}


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


def to_yesno(s: str | None) -> str | None:
    """The first yes/no/true/false word in ``s`` as "yes" or "no", else None."""
    if s is None:
        return None
    match = _YESNO_RE.search(_without_choices(unwrap_text(s)))
    return _YESNO_MAP[match.group(1).lower()] if match else None


def _last_yesno(text: str) -> tuple[str, int] | None:
    """The last yes/no word with its position (in the same cleaned text as ``last_number``)."""
    matches = list(_YESNO_RE.finditer(_without_choices(clean_for_search(text))))
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
    return _value_of(_PAREN_RE.sub(" ", value).rsplit("=", 1)[-1]) is not None


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


def _explicit(text: str, kind: str, read: Callable[[str], str | None]) -> str | None:
    """The first explicitly stated answer that `read` finds a value in, most explicit first:
    boxed, "####", then an answer phrase."""
    for candidate in (last_boxed(text), _hashes_value(text), _phrase_value(text, kind)):
        value = read(candidate) if candidate else None
        if value:
            return value
    return None


def _number_in(candidate: str) -> str | None:
    """The number an explicit value states: the whole value, else its first number.

    Parentheticals are notes ("18 (= 9 eggs x $2)"); in "3 + 4 = 7" the part after the
    last "=" is the answer.
    """
    if (whole := arithmetic_value(candidate)) is not None:  # "(2 + 3) * 4" before notes go
        return format_number(whole)
    bare = _PAREN_RE.sub(" ", candidate)
    candidate = (bare if bare.strip() else candidate).rsplit("=", 1)[-1]
    value = _value_of(candidate)
    if value is None:
        value = first_number(candidate)
    if value is None and (words := WORDS_NUMBER_RE.match(candidate.strip())):
        value = words_value(words.group(0))
    return None if value is None else format_number(value)


def _value_of(value: str) -> float | None:
    """What a whole explicit value states: a number ("1,000", "1.2 \\times 10^6"), an
    unevaluated sum ("12 + 6" is 18, not 12) or a number in words ("twenty-one")."""
    for read in (parse_number, arithmetic_value, words_value):
        if (number := read(value)) is not None:
            return number
    return None


def leading_verdict(text: str) -> str | None:
    """ "yes"/"no" when the response opens with a verdict ("Yes." / "**No**," / "Answer - Yes")."""
    match = _VERDICT_RE.match(_without_choices(text))
    return _YESNO_MAP[match.group(1).lower()] if match else None


# ---- per answer kind ------------------------------------------------------------------------
# `finished` is False for a response cut off at the token limit: then only an explicit answer
# counts. `explicit_only` is for texts whose prose is commentary (a coordinator's commitment).


def extract_numeric(text: str, finished: bool = True, explicit_only: bool = False) -> str | None:
    """Canonical number ("1000", "-3.5") that the response gives as its answer."""
    number = _explicit(text, "numeric", _number_in)
    if number is not None or not finished or explicit_only:
        return number
    last = last_number(text)
    if last is None:  # no digits at all: a number in words ("so she has twelve")
        found = list(WORDS_NUMBER_RE.finditer(text))
        value = words_value(found[-1].group(0)) if found else None
        return None if value is None else format_number(value)
    return last[0]


def extract_yesno(text: str, finished: bool = True, explicit_only: bool = False) -> str | None:
    """The response's answer as "yes" or "no", None when it gives neither."""
    answer = _explicit(text, "yesno", to_yesno) or leading_verdict(text)
    if answer is not None or not finished or explicit_only:
        return answer
    last = _last_yesno(text)
    return last[0] if last else None


def extract_mixed(text: str, finished: bool = True, explicit_only: bool = False) -> str | None:
    """Yes/no or a number, for sets that mix both (the demo set).

    An explicit answer is read as yes/no when it is one, else as a number; without one the
    later of the last number and the last yes/no word wins.
    """
    answer = _explicit(text, "mixed", lambda value: to_yesno(value) or _number_in(value))
    if answer is not None or not finished or explicit_only:
        return answer
    found = [hit for hit in (last_number(text), _last_yesno(text)) if hit]
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
    answer = _explicit(text, "text", text_answer)
    if answer is not None or not finished or explicit_only:
        return answer
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
    value = _explicit(text, "math", _math_value)
    if value is not None or not finished or explicit_only:
        return value
    from math_verify import LatexExtractionConfig, parse  # heavy; only unboxed MATH needs it

    try:
        parsed = parse(text, [LatexExtractionConfig()], parsing_timeout=None)
    except Exception:  # math-verify raises assorted errors on odd text; then no answer
        parsed = []
    if len(parsed) >= 2 and isinstance(parsed[1], str) and parsed[1].strip():
        return parsed[1].strip()
    last = last_number(text)
    return last[0] if last else None
