"""ECON's coordinator: a strategy before the executors act, a commitment after they answer.

Both are calls to the coordinator model through the question's CallLog. How a commitment's
text becomes an answer is `commit.py`'s (pure functions that `econ rescore` shares). The
ablations skip calls: econ-nostrategy the strategy (EconSystem's choice), econ-vote the
commitment, which is then the executors' majority.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from econ.llm.base import LLM, Message, Sampling
from econ.methods.calls import CallLog, gather_all
from econ.methods.econ import prompts as P
from econ.methods.econ.commit import Override, decide, groups, settled, support
from econ.methods.econ.result import Decision, ExecutorOutcome
from econ.methods.voting import majority
from econ.tasks import Benchmark


@dataclass(frozen=True)
class Coordinator:
    """The coordinator model and the settings of its calls."""

    llm: LLM
    max_tokens: int  # a commitment's cap
    strategy_max_tokens: int
    group_size: int  # executors per local commitment
    seed: int
    by_vote: bool = False  # commit to the executors' majority, without a call (econ-vote)
    strategy_when_cut: str = "trim"  # "trim" or "drop" a strategy that reached its cap
    skip_unanimous: bool = True  # no commitment call when every executor agrees
    override: Override = "among"  # see commit.Override
    commit_format: str = "answer-first"  # prompts.DECIDE's key
    commit_max_tokens: int | None = 96  # None: max_tokens
    shown_chars: int = P.SHOWN_CHARS  # of each response the coordinator reads

    async def strategy(self, question: str, bench: Benchmark, log: CallLog) -> str:
        """The method for this question.

        A strategy cut off by the token cap is dropped (`strategy_when_cut` "drop") or kept
        as far as it is whole ("trim", `prompts.trim_plan`: a plan cut after its first step
        steers every executor to that step's quantity); it is never retried for length (a
        retry under the same cap fails the same way). Only a strategy that states a final value
        is retried once, and if the retry does too, the statement is cut off: executors must
        reason themselves.
        """
        text = ""
        for attempt in range(2):
            sampling = Sampling(
                max_tokens=self.strategy_max_tokens,
                temperature=0.0 if attempt == 0 else 0.3,
                seed=self.seed + attempt,
            )
            comp = await log.chat(
                self.llm, P.strategy_messages(question, bench), sampling, role="strategy"
            )
            text = comp.text.strip()
            if comp.finish_reason == "length":
                if self.strategy_when_cut == "drop":
                    return ""
                text = P.trim_plan(text)
            if bench.extract(text, explicit_only=True) is None:
                return text
        return P.drop_answer(text)

    async def commit(
        self,
        question: str,
        strategy: str,
        outcomes: Sequence[ExecutorOutcome],
        bench: Benchmark,
        log: CallLog,
        round_no: int,
    ) -> Decision:
        """The round's commitment. None is asked for when the executors settle the question
        (`commit.settled`: unanimous, or a strict majority under override "never"). Else local
        commitments per group of g executors, then a global one over the ceil(N/g) groups, so
        no coordinator prompt holds more than max(g, ceil(N/g)) responses."""
        answers = [o.answer for o in outcomes]
        if self.by_vote:
            vote = majority(answers, bench)
            return Decision(vote, f"majority vote: \\boxed{{{vote}}}", "majority")
        if (done := self._settled(answers, bench)) is not None:
            return done
        grouped = groups(len(outcomes), self.group_size)
        single = len(grouped) == 1
        local = await gather_all(
            *(
                self._one_commit(
                    self._local_messages(question, strategy, outcomes, grp, bench),
                    [answers[i] for i in grp],
                    bench,
                    log,
                    role="coordinator" if single else "local_coordinator",
                    round_no=round_no,
                    agent=None if single else k,
                    options={i: answers[i] for i in grp},
                )
                for k, grp in enumerate(grouped)
            )
        )
        if single:
            return local[0]
        if bench.kind == "plan":
            chosen = _labelled(answers, [d.answer for d in local], bench)
            messages = P.plan_commit_messages(question, strategy, chosen, fmt=self.commit_format)
        else:
            chosen = None
            messages = P.global_commit_messages(
                question,
                strategy,
                [d.text for d in local],
                [d.answer for d in local],
                support(answers, [d.answer for d in local], grouped, bench),
                fmt=self.commit_format,
                shown_chars=self.shown_chars,
            )
        return await self._one_commit(
            messages, answers, bench, log, role="coordinator", round_no=round_no, options=chosen
        )

    def _local_messages(
        self,
        question: str,
        strategy: str,
        outcomes: Sequence[ExecutorOutcome],
        grp: list[int],
        bench: Benchmark,
    ) -> list[Message]:
        """A group's commitment prompt: its executors' plans by number on a plan benchmark,
        else their answers with the end of their reasoning."""
        if bench.kind == "plan":
            plans = {i: outcomes[i].answer for i in grp}
            return P.plan_commit_messages(question, strategy, plans, fmt=self.commit_format)
        return P.commit_messages(
            question,
            strategy,
            [outcomes[i].response for i in grp],
            [outcomes[i].answer for i in grp],
            fmt=self.commit_format,
            shown_chars=self.shown_chars,
        )

    async def _one_commit(
        self,
        messages: list[Message],
        fallback_answers: list[str | None],
        bench: Benchmark,
        log: CallLog,
        *,
        role: str,
        round_no: int,
        agent: int | None = None,
        options: dict[int, str | None] | None = None,
    ) -> Decision:
        """A commitment counts only when it states its answer explicitly (boxed, "####" or an
        answer phrase): its prose discusses the solutions ("Solution 3 is also correct"), and a
        number read from there is noise. Without one it gets one short re-ask; then the
        executors' majority decides. A group whose executors settle it needs no call, and
        neither does a choice among fewer than two different plans."""
        if (done := self._settled(fallback_answers, bench)) is not None:
            return done
        if bench.kind == "plan" and options is not None:
            plans = [p for p in options.values() if bench.normalize(p) is not None]
            if len({bench.normalize(p) for p in plans}) < 2:  # nothing to choose between
                only = plans[0] if plans else None
                return Decision(only, "fewer than two plans to choose from: no call", "majority")
        who: dict[str, Any] = {"role": role, "round_no": round_no, "agent": agent}
        greedy = Sampling(max_tokens=self.commit_max_tokens or self.max_tokens, seed=self.seed)
        comp = await log.chat(self.llm, messages, greedy, **who)
        replies = [(comp.text, comp.finish_reason)]
        answer, decided_by = decide(replies, fallback_answers, bench, self.override, options)
        if decided_by == "majority":  # no explicit answer: one short re-ask
            again = await log.chat(
                self.llm,
                P.reask_messages(messages, comp.text, bench),
                Sampling(max_tokens=P.REASK_MAX_TOKENS, seed=self.seed),
                **who,
            )
            replies.append((again.text, again.finish_reason))
            answer, decided_by = decide(replies, fallback_answers, bench, self.override, options)
        return Decision(answer, "\n\n".join(text for text, _ in replies), decided_by, True)

    def _settled(self, answers: list[str | None], bench: Benchmark) -> Decision | None:
        """The decision when these executors' answers settle it without a call."""
        done = settled(answers, bench, skip_unanimous=self.skip_unanimous, override=self.override)
        if done is None:
            return None
        answer, decided_by = done
        agree = sum(bench.same_answer(a, answer) for a in answers)
        return Decision(answer, f"{agree} of {len(answers)} gave \\boxed{{{answer}}}", decided_by)


def _labelled(
    answers: list[str | None], chosen: list[str | None], bench: Benchmark
) -> dict[int, str | None]:
    """The groups' chosen plans for the global commitment, each under the number of the first
    executor that wrote it (so a replay, which knows only the executors, reads the choice the
    same way); a plan two groups chose is shown once."""
    labelled: dict[int, str | None] = {}
    for plan in chosen:
        at = next((i for i, a in enumerate(answers) if bench.same_answer(a, plan)), None)
        if at is not None:
            labelled.setdefault(at, answers[at])
    return labelled
