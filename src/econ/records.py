"""Everything a run writes, as typed records: what every reader of a run reads back.

- `EvalRecord`: one line of records.jsonl, one method's answer to one question in one epoch,
  with its cost (`Usage`'s fields, `ModelUsage` per model) and its trace of `Call`s.
- `EpisodeRecord`: one line of episodes.jsonl, one training question played and learned from.

Each carries a layout number; a record of a layout this econ cannot read is refused with one
line naming it (`econ.run_records.check_layout`, `econ.episodes.records_before`). Readers take
these models (`econ.run_records.load_run_records`, `read_eval_records`), never dict keys; the
viewer's page reads the same fields from their JSON.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from econ.llm.base import Message

# The layout of a record (`EvalRecord.layout`). 2: the trace is a list of
# `Call`; 1 (records without the key): the same fields, written before that.
RECORD_LAYOUT = 2
READABLE_LAYOUTS = (1, RECORD_LAYOUT)


class ModelUsage(BaseModel):
    """What the calls to one model cost for one question."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    prompt_tokens: int = 0
    """Prompt tokens of every attempt the server reported tokens for."""
    completion_tokens: int = 0
    """Completion tokens, counted the same way."""
    calls: int = 0
    """HTTP requests sent, retried and failed ones included."""


class Usage(BaseModel):
    """What one question cost, summed over its calls (`CallLog.usage`). A record holds these
    fields at its top level."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    prompt_tokens: int
    """Prompt tokens of every call, failed attempts that reported tokens included."""
    completion_tokens: int
    """Completion tokens, counted the same way."""
    calls: int
    """HTTP requests sent, retried and failed ones included; a cached answer sent none."""
    failed_requests: int
    """Requests that did not give their call's answer (retried, failed for good, cancelled)."""
    empty_responses: int
    """Answers whose text was empty or whitespace."""
    llm_seconds: float
    """Sum of the calls' latencies: more than the wall time when calls ran in parallel."""
    per_model: dict[str, ModelUsage]
    """The same accounting per model spec, for teams that mix models."""


class FailedAttempt(BaseModel):
    """One request of a call that did not give its answer."""

    model_config = ConfigDict(use_attribute_docstrings=True, extra="forbid")

    error: str
    """Why: an HTTP status, a malformed reply, a deadline, "cancelled"."""
    prompt_tokens: int = 0
    """Tokens the server reported for it (0 when it reported none)."""
    completion_tokens: int = 0
    """Completion tokens, likewise."""
    latency_s: float = 0.0
    """Its wall time."""


class Call(BaseModel):
    """One entry of a record's trace: one LLM call, failed and cancelled ones included. What
    every reader of a run (rescore, matched compute, training, `econ view`) finds under
    `trace`, in this order on disk."""

    model_config = ConfigDict(use_attribute_docstrings=True, extra="forbid")

    role: str
    """Who called: solver, sampler, debater, strategy, executor, coordinator, ..."""
    round: int
    """The method's round (0 when it has none; ECON's stage-2 revisions are 1, 2, ...)."""
    agent: int | None
    """The agent's index among those of its role, None for a single caller."""
    model: str
    """The model spec that answered (credentials redacted)."""
    temperature: float
    top_p: float
    repetition_penalty: float | None
    """None: not sent."""
    max_tokens: int
    """The sampling the call asked for (its seed is not recorded)."""
    messages: list[Message]
    """What the model read."""
    response: str | None
    """Its text; None when the call failed for good or was cancelled."""
    finish_reason: str | None
    """"stop", "length" (cut off at max_tokens), ... as the server said."""
    empty: bool
    """The text was blank."""
    prompt_tokens: int
    """Every attempt's prompt tokens that the server reported, failed ones included."""
    completion_tokens: int
    """Completion tokens, counted the same way."""
    latency_s: float
    """The call's wall time: queueing, retries and backoff included."""
    requests: int
    """HTTP requests the call sent (retries included; 0 when the cache answered)."""
    failed_attempts: list[FailedAttempt]
    """The requests that did not give the answer."""
    error: str | None
    """Why the call failed for good; None when it answered."""
    cached: bool
    """Answered from the request cache: no request sent, the original's tokens."""


class EvalRecord(BaseModel):
    """One line of records.jsonl: one method's answer to one question in one epoch, what it
    cost, and every call it made (the evidence `econ rescore` and `econ view` read back).

    The fields are written in this order.
    """

    model_config = ConfigDict(use_attribute_docstrings=True)

    id: str = Field(strict=True)
    """The question's id, unique within its benchmark."""
    method: str = Field(strict=True)
    """The method's registered name (econ.methods.build)."""
    epoch: int = Field(0, strict=True, ge=0)
    """Which of the run's epochs; epoch k sampled with seed + k * EPOCH_SEED_STRIDE (runs
    written before epochs existed have none: epoch 0)."""
    benchmark: str
    """The benchmark the question belongs to, which says how answers are compared."""
    question: str
    """The question as the models read it."""
    gold: str
    """The reference answer."""
    prediction: str | None
    """The method's final answer; None when it gave none or the question errored."""
    correct: bool
    """Whether `prediction` grades equal to `gold`; False whenever `error` is set."""
    prompt_tokens: int
    """`Usage.prompt_tokens` of the question's calls."""
    completion_tokens: int
    """`Usage.completion_tokens`."""
    calls: int
    """`Usage.calls`: HTTP requests sent, retried and failed ones included."""
    failed_requests: int
    """`Usage.failed_requests`."""
    empty_responses: int
    """`Usage.empty_responses`."""
    latency_s: float
    """Wall time of the whole question, in seconds."""
    llm_seconds: float
    """`Usage.llm_seconds`: the calls' latencies summed."""
    per_model: dict[str, ModelUsage]
    """`Usage.per_model`."""
    error: str | None
    """Why the question failed for good (an LLMError's message, or "internal error: ..." with
    where it was raised); None when it was answered."""
    details: dict[str, Any]
    """Method-specific facts: self_consistency's answers, debate's final answers, ECON's
    strategy, executors, commitment and how it was decided."""
    trace: list[Call]
    """Every LLM call, in order, failed and cancelled ones included (`Call`
    documents each field)."""
    layout: int = 1
    """The layout of this record (`RECORD_LAYOUT`, which every record written now carries);
    absent on disk: layout 1, the same fields written before the trace was a type."""


EPISODE_LAYOUT = 1
"""The layout of an episode record (`EpisodeRecord.layout`): a run whose records have another
one is refused on resume, saying which, rather than read by guesswork."""


class EpisodeRecord(BaseModel):
    """One line of episodes.jsonl: one training question, played, rewarded and learned from.

    The fields are written in this order. An episode lost to an LLM failure has `error` set
    and only the fields before it, `seconds` and the defaults.
    """

    model_config = ConfigDict(use_attribute_docstrings=True)

    episode: int
    """The episode's number, from 0; episode k plays training question k modulo the pool."""
    id: str
    """The question's id."""
    gold: str
    """The reference answer."""
    error: str | None = None
    """The LLM failure that lost this question; None when it was played."""
    answer: str | None = None
    """The team's final commitment."""
    correct: bool = False
    """Whether the final commitment grades equal to `gold`."""
    reward_tot: float = 0.0
    """The team reward r_tot of the last round (`econ.belief.rewards`)."""
    rewards: list[float] | None = None
    """Each executor's reward r_i in the last round."""
    actions: list[dict[str, float]] | None = None
    """Each executor's round-0 action: control name -> value in real units."""
    agree: list[bool] | None = None
    """Whether each executor's last answer agreed with the final commitment."""
    rounds: int = 0
    """Stage-2 revision rounds played after the first commitment."""
    stable: bool = True
    """Whether every later commitment kept the first one's answer."""
    tokens: int = 0
    """Prompt plus completion tokens of the episode's calls."""
    seconds: float = 0.0
    """Wall time of the whole episode, updates included."""
    exploration_std: float = 0.0
    """The exploration noise's standard deviation when the episode was played."""
    update_ms: float | None = None
    """Milliseconds the episode's gradient updates took together; None when none ran."""
    losses: dict[str, float] | None = None
    """Each loss averaged over the episode's updates (`Learner.update`); None when none ran."""
    evidence: list[dict[str, dict[str, float | None]]] | None = None
    """Per executor, per control, after this episode: the t of its own-correctness evidence
    test, the test's sequential boundary, and the control's target (normalised) once the
    evidence has moved it (`econ.belief.evidence`); None when not played."""
    layout: int = EPISODE_LAYOUT
    """The layout of this record (`EPISODE_LAYOUT`); records written before the field existed
    have none and are layout 1, the same fields."""
