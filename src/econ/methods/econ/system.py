"""ECON at inference: strategy -> belief-steered executors -> commitment (-> revisions).

One question costs 1 strategy call + N executor calls + 1 commitment call (plus one local
commitment per group when N exceeds the group size, a re-ask when a commitment states no
answer, and revisions in stage-2 rounds). Executors never see each other's texts; each samples
with the controls that its own belief network chose from its own observation, or that the
caller's policy chose (training explores).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Sequence

import torch

from econ.belief.embedder import Embedder
from econ.belief.history import HISTORY_DIM, AgentHistory
from econ.belief.networks import BeliefConfig, EconAgents
from econ.belief.team import load_team
from econ.config import RunConfig
from econ.errors import UserError
from econ.llm import make_llm
from econ.llm.base import LLM
from econ.methods.base import CallLog, gather_all, majority
from econ.methods.econ import prompts as P
from econ.methods.econ.commit import decide, groups, support
from econ.methods.econ.result import Decision, EconResult, EconStep, ExecutorOutcome, Policy
from econ.tasks import Benchmark, get_benchmark


class EconSystem:
    """A coordinator, N executors and their belief networks. Build it, then `await solve(q)`."""

    def __init__(
        self,
        coordinator: LLM,
        executors: Sequence[LLM],
        agents: EconAgents | None = None,
        *,
        history: AgentHistory | None = None,
        embedder: Embedder | None = None,
        group_size: int = 3,
        bne_rounds: int = 0,
        strategy_max_tokens: int = 50,
        max_tokens: int = 512,
        use_strategy: bool = True,
        commit_by_vote: bool = False,
        seed: int = 0,
    ):
        n = len(executors)
        if n == 0:
            raise UserError("ECON needs at least one executor")
        self.coordinator = coordinator
        self.executors = list(executors)
        self.agents = (
            agents if agents is not None else EconAgents(BeliefConfig(n_agents=n), seed=seed)
        )
        if self.agents.cfg.n_agents != n:
            raise UserError(
                f"belief networks are for {self.agents.cfg.n_agents} executors but the team has {n}"
            )
        self.history = history or AgentHistory(n)
        self.embedder = embedder or Embedder()
        self.group_size = group_size
        self.bne_rounds = bne_rounds
        self.strategy_max_tokens = strategy_max_tokens
        self.max_tokens = max_tokens
        self.use_strategy = use_strategy
        self.commit_by_vote = commit_by_vote
        self.seed = seed

    @classmethod
    def from_specs(
        cls, coordinator: str, executors: Sequence[str], checkpoint: str | None = None, **kwargs
    ) -> EconSystem:
        """Build from model specs such as "local:qwen2.5-coder-0.5b" or "openai:m@http://host/v1"."""
        cfg = RunConfig(model=coordinator)
        cfg.econ.executors = list(executors)
        cfg.econ.checkpoint = checkpoint
        return cls.from_config(cfg, **kwargs)

    @classmethod
    def from_config(cls, cfg: RunConfig, **kwargs) -> EconSystem:
        """Models from the config; belief networks from `econ.checkpoint` unless given, else
        untrained ones over the configured controls."""
        n = len(cfg.executor_models())
        if "agents" not in kwargs:
            if cfg.econ.checkpoint:
                agents, history = load_team(cfg.econ.checkpoint, n, cfg.econ.controls)
                kwargs["agents"] = agents
                kwargs.setdefault("history", history)
            else:
                belief = BeliefConfig(n_agents=n, controls=cfg.econ.controls)
                kwargs["agents"] = EconAgents(belief, seed=cfg.seed)
        options = dict(
            group_size=cfg.econ.group_size,
            bne_rounds=cfg.econ.bne_rounds,
            strategy_max_tokens=cfg.econ.strategy_max_tokens,
            max_tokens=cfg.max_tokens,
            seed=cfg.seed,
        )
        options.update(kwargs)
        return cls(
            make_llm(cfg.coordinator_model(), cfg.llm),
            [make_llm(s, cfg.llm) for s in cfg.executor_models()],
            **options,
        )

    # ---- one question -------------------------------------------------------------------

    async def solve(
        self,
        question: str,
        benchmark: Benchmark | None = None,
        log: CallLog | None = None,
        policy: Policy | None = None,
    ) -> EconResult:
        """strategy -> observe -> act -> execute -> commit, then stage-2 revisions while some
        executor disagrees and the commitment keeps changing."""
        bench = benchmark or get_benchmark("demo")
        log = log if log is not None else CallLog()
        start = time.perf_counter()
        n = len(self.executors)
        strategy = await self.strategy(question, bench, log)
        outcomes: list = [None] * n
        act = functools.partial(self._act, question, outcomes, bench, log, policy or self.act)
        first = P.executor_messages(question, strategy)
        steps = [await act(0, strategy, {i: first for i in range(n)})]
        decision = await self.commit(question, strategy, outcomes, bench, log, 0)
        commitments = [decision.answer]
        for r in range(1, self.bne_rounds + 1):
            agrees = functools.partial(bench.same_answer, decision.answer)
            dissent = [i for i, o in enumerate(outcomes) if not agrees(o.answer)]
            if decision.answer is None or not dissent:
                break
            why = P.rationale(decision.text)
            revise = {
                i: P.revision_messages(
                    question, strategy, outcomes[i].response, committed=decision.answer, why=why
                )
                for i in dissent
            }
            steps.append(await act(r, P.commitment_summary(decision.answer, why), revise))
            previous = decision
            decision = await self.commit(question, strategy, outcomes, bench, log, r)
            commitments.append(decision.answer)
            if bench.same_answer(decision.answer, previous.answer):
                break
        return EconResult(
            answer=decision.answer,
            strategy=strategy,
            executors=outcomes,
            commitment=decision.text,
            decided_by=decision.decided_by,
            rounds=len(steps) - 1,
            commitments=commitments,
            usage=log.usage(),
            seconds=time.perf_counter() - start,
            trace=log.calls,
            steps=steps,
        )

    async def _act(
        self,
        question: str,
        outcomes: list[ExecutorOutcome],
        bench: Benchmark,
        log: CallLog,
        policy: Policy,
        round_no: int,
        context: str,
        messages: dict[int, list],
    ) -> EconStep:
        """One round of acting: observe with `context` (the strategy, or the commitment when
        revising), choose every executor's controls, run the executors that have `messages`
        concurrently, and update `outcomes` in place."""
        obs = await self.observe(question, context)
        actions = policy(obs)
        done = await gather_all(
            *(self._execute(i, m, actions[i], bench, log, round_no) for i, m in messages.items())
        )
        for i, outcome in zip(messages, done):
            outcomes[i] = outcome
        acted = [i in messages for i in range(len(outcomes))]
        return EconStep(round_no, obs, actions, acted, [o.answer for o in outcomes])

    def solve_sync(self, question: str, benchmark: Benchmark | None = None) -> EconResult:
        """For scripts and notebooks without an event loop."""
        return asyncio.run(self.solve(question, benchmark))

    def act(self, obs: torch.Tensor) -> torch.Tensor:
        """The deterministic policy used at inference: [N, obs_dim] -> [N, A] real units."""
        return self.agents.act(obs.unsqueeze(0))[0]

    async def observe(self, question: str, context: str) -> torch.Tensor:
        """o_i = [emb(question); emb(context); history_i] (the network adds the agent id).

        The context is the strategy when executors first act, and the commitment's answer
        and rationale when they revise in stage 2.
        """
        emb = await asyncio.to_thread(self.embedder.encode, [question, context])
        n = len(self.executors)
        shared = emb.reshape(1, -1).expand(n, -1)
        hist = self.history.features()
        assert hist.shape == (n, HISTORY_DIM)
        return torch.cat([shared.cpu(), hist], dim=1)

    async def strategy(self, question: str, bench: Benchmark, log: CallLog) -> str:
        """The coordinator's method for this question ("" when the strategy is ablated).

        A strategy cut off by the token cap is trimmed at its last full sentence, never
        retried for length (a retry under the same cap fails the same way). Only a strategy
        that states a final value is retried once, and if the retry does too, the statement
        is cut off: executors must reason themselves.
        """
        if not self.use_strategy:
            return ""
        text = ""
        for attempt in range(2):
            comp = await log.chat(
                self.coordinator,
                P.strategy_messages(question),
                role="strategy",
                temperature=0.0 if attempt == 0 else 0.3,
                max_tokens=self.strategy_max_tokens,
                seed=self.seed + attempt,
            )
            text = comp.text.strip()
            if comp.finish_reason == "length":
                text = P.trim_to_sentence(text)
            if bench.extract(text, explicit_only=True) is None:
                return text
        return P.drop_answer(text)

    async def _execute(
        self,
        i: int,
        messages: list,
        action: torch.Tensor,
        bench: Benchmark,
        log: CallLog,
        round_no: int,
    ) -> ExecutorOutcome:
        controls = {
            name: round_action(float(x)) for name, x in zip(self.agents.control_names, action)
        }
        sampling = {"temperature": 0.0, "max_tokens": self.max_tokens, **controls}
        sampling["max_tokens"] = int(sampling["max_tokens"])
        comp = await log.chat(
            self.executors[i],
            messages,
            role="executor",
            round=round_no,
            agent=i,
            seed=self.seed + 100 * round_no + i,
            **sampling,
        )
        return ExecutorOutcome(
            model=comp.model,
            controls=controls,
            response=comp.text,
            finish_reason=comp.finish_reason,
            answer=bench.extract(comp.text, comp.finish_reason),
            completion_tokens=comp.completion_tokens,
        )

    async def commit(
        self,
        question: str,
        strategy: str,
        outcomes: Sequence[ExecutorOutcome],
        bench: Benchmark,
        log: CallLog,
        round_no: int,
    ) -> Decision:
        """The round's commitment. Local commitments per group of g executors,
        then a global one over the ceil(N/g) groups, so no coordinator prompt holds more than
        max(g, ceil(N/g)) responses."""
        answers = [o.answer for o in outcomes]
        if self.commit_by_vote:
            vote = majority(answers, bench)
            return Decision(vote, f"majority vote: \\boxed{{{vote}}}", "majority")

        grouped = groups(len(outcomes), self.group_size)
        single = len(grouped) == 1
        local = await gather_all(
            *(
                self._one_commit(
                    P.commit_messages(
                        question,
                        strategy,
                        [outcomes[i].response for i in grp],
                        [answers[i] for i in grp],
                    ),
                    [answers[i] for i in grp],
                    bench,
                    log,
                    role="coordinator" if single else "local_coordinator",
                    round_no=round_no,
                    agent=None if single else k,
                )
                for k, grp in enumerate(grouped)
            )
        )
        if single:
            return local[0]
        return await self._one_commit(
            P.global_commit_messages(
                question,
                strategy,
                [d.text for d in local],
                [d.answer for d in local],
                support(answers, [d.answer for d in local], grouped, bench),
            ),
            answers,
            bench,
            log,
            role="coordinator",
            round_no=round_no,
        )

    async def _one_commit(
        self, messages, fallback_answers, bench, log, *, role, round_no, agent=None
    ) -> Decision:
        """A commitment counts only when it states its answer explicitly (boxed, "####" or an
        answer phrase): its prose discusses the solutions ("Solution 3 is also correct"), and a
        number read from there is noise. Without one it gets one short re-ask; then the
        executors' majority decides."""
        chat = dict(role=role, round=round_no, agent=agent, temperature=0.0, seed=self.seed)
        comp = await log.chat(self.coordinator, messages, max_tokens=self.max_tokens, **chat)
        calls = [{"response": comp.text, "finish_reason": comp.finish_reason}]
        answer, decided_by = decide(calls, fallback_answers, bench)
        if decided_by != "commitment":
            again = await log.chat(
                self.coordinator,
                P.reask_messages(messages, comp.text),
                max_tokens=P.REASK_MAX_TOKENS,
                **chat,
            )
            calls.append({"response": again.text, "finish_reason": again.finish_reason})
            answer, decided_by = decide(calls, fallback_answers, bench)
        return Decision(answer, "\n\n".join(c["response"] for c in calls), decided_by)


def round_action(x: float) -> float:
    """Sampling parameters sent to servers and logged: three decimals are plenty."""
    return round(x, 3)
