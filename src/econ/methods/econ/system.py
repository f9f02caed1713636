"""ECON at inference: strategy -> belief-steered executors -> commitment (-> revisions).

One question costs 1 strategy call + N executor calls + 1 commitment call (plus one local
commitment per group when N exceeds the group size, a re-ask when a commitment states no
answer, and revisions in stage-2 rounds); fewer when the executors settle it (no commitment
call) or, with `waves`, when the first strict majority of them agree (the rest not asked).
Executors never see each other's texts; each samples with the controls that its own belief
network chose from its own observation, or that the caller's policy chose (training explores,
with every executor asked).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Sequence
from typing import Any

import torch

import econ.llm
from econ.belief.embedder import Embedder
from econ.belief.history import HISTORY_DIM, AgentHistory
from econ.belief.networks import BeliefConfig, EconAgents
from econ.belief.team import load_team
from econ.config import DEFAULT_MAX_TOKENS, RunConfig
from econ.errors import UserError
from econ.llm.base import LLM, Message, Sampling
from econ.methods.base import MakeLLM
from econ.methods.calls import CallLog
from econ.methods.econ import prompts as P
from econ.methods.econ.commit import wave_answer, wave_size
from econ.methods.econ.coordinator import Coordinator
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
        max_tokens: int = DEFAULT_MAX_TOKENS,
        use_strategy: bool = True,
        commit_by_vote: bool = False,
        waves: bool = True,
        seed: int = 0,
        **rules: Any,
    ):
        """`waves`: executors in two waves (`commit.wave_size`), as the config's `econ.waves`.
        `rules` are the Coordinator's settings of how it strategises and commits
        (strategy_when_cut, skip_unanimous, override, commit_format, commit_max_tokens,
        shown_chars); unset, the Coordinator's defaults, which are the config's."""
        n = len(executors)
        if n == 0:
            raise UserError("ECON needs at least one executor")
        self.coordinator = Coordinator(
            coordinator, max_tokens, strategy_max_tokens, group_size, seed, commit_by_vote, **rules
        )
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
        self.bne_rounds = bne_rounds
        self.max_tokens = max_tokens
        self.use_strategy = use_strategy
        self.waves = waves
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
    def from_config(
        cls, cfg: RunConfig, make_llm: MakeLLM | None = None, **kwargs: Any
    ) -> EconSystem:
        """Models from the config, each built by `make_llm` (econ.llm.make_llm unless given);
        belief networks from `econ.checkpoint` unless given, else untrained ones over the
        configured controls. `kwargs` are EconSystem's own settings, over the config's."""
        build = make_llm or econ.llm.make_llm
        n = len(cfg.executor_models())
        if "agents" not in kwargs:
            if cfg.econ.checkpoint:
                agents, history = load_team(cfg.econ.checkpoint, n, cfg.econ.controls)
                kwargs["agents"] = agents
                kwargs.setdefault("history", history)
            else:
                belief = BeliefConfig(n_agents=n, controls=cfg.econ.controls)
                kwargs["agents"] = EconAgents(belief, seed=cfg.seed)
        e = cfg.econ
        options = dict(
            group_size=e.group_size,
            bne_rounds=e.bne_rounds,
            strategy_max_tokens=e.strategy_max_tokens,
            max_tokens=cfg.max_tokens,
            seed=cfg.seed,
            strategy_when_cut=e.strategy_when_cut,
            skip_unanimous=e.skip_unanimous,
            override=e.override,
            commit_format=e.commit_format,
            commit_max_tokens=e.commit_max_tokens,
            shown_chars=e.shown_chars,
            waves=e.waves,
        )
        options.update(kwargs)
        return cls(
            build(cfg.coordinator_model(), cfg.llm),
            [build(s, cfg.llm) for s in cfg.executor_models()],
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
        act = functools.partial(
            self._act, question, outcomes, bench, log, policy or self.greedy_policy
        )
        first = P.executor_messages(question, strategy, bench)
        wave = wave_size(n) if self.waves else None
        steps = [await act(0, strategy, {i: first for i in range(n)}, wave)]
        rounds = self.bne_rounds
        if None in outcomes:  # the first wave agreed: the rest were not asked, nothing to revise
            answer, rounds = outcomes[0].answer, 0
            text = f"the first {wave} of {n} executors gave \\boxed{{{answer}}}"
            decision = Decision(answer, text, "unanimous")
        else:
            decision = await self.coordinator.commit(question, strategy, outcomes, bench, log, 0)
        steps[0].commitment = decision.words()
        commitments = [decision.answer]
        for r in range(1, rounds + 1):
            agrees = functools.partial(bench.same_answer, decision.answer)
            dissent = [i for i, o in enumerate(outcomes) if not agrees(o.answer)]
            if decision.answer is None or not dissent:
                break
            why = P.rationale(decision.text)
            revise = {
                i: P.revision_messages(
                    question,
                    strategy,
                    outcomes[i].response,
                    committed=decision.answer,
                    why=why,
                    bench=bench,
                )
                for i in dissent
            }
            steps.append(await act(r, P.commitment_summary(decision.answer, why, bench), revise))
            previous = decision
            decision = await self.coordinator.commit(question, strategy, outcomes, bench, log, r)
            steps[-1].commitment = decision.words()
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
        messages: dict[int, list[Message]],
        wave: int | None = None,
    ) -> EconStep:
        """One round of acting: observe with `context` (the strategy, or the commitment when
        revising), choose every executor's controls, run the executors that have `messages`
        concurrently, and update `outcomes` in place. With `wave` < len(messages) the first
        `wave` of them run first and the rest only if those disagree (`commit.wave_answer`);
        an executor not asked keeps outcome None and acted False."""
        obs = await self.observe(question, context)
        actions = policy(obs)
        controls = {i: self._controls(actions[i]) for i in messages}

        async def ask(batch: list[int]) -> None:
            asks = {
                i: (self.executors[i], messages[i], self._sampling(controls[i], round_no, i))
                for i in batch
            }
            comps = await log.chat_each(asks, role="executor", round_no=round_no)
            for i, comp in zip(batch, comps):
                outcomes[i] = ExecutorOutcome(
                    model=comp.model,
                    controls=controls[i],
                    response=comp.text,
                    finish_reason=comp.finish_reason,
                    answer=bench.extract(comp.text, comp.finish_reason),
                    completion_tokens=comp.completion_tokens,
                )

        order = list(messages)
        first, rest = (order, []) if wave is None else (order[:wave], order[wave:])
        await ask(first)
        if rest and wave_answer([outcomes[i].answer for i in first], bench) is None:
            await ask(rest)
        acted = [i in messages and outcomes[i] is not None for i in range(len(outcomes))]
        answers = [o.answer if o is not None else None for o in outcomes]
        responses = [o.response if o is not None else "" for o in outcomes]
        return EconStep(round_no, obs, actions, acted, answers, responses)

    def _controls(self, action: torch.Tensor) -> dict[str, float]:
        """One executor's action by control name, to three decimals: what is sent and logged."""
        return {name: round(float(x), 3) for name, x in zip(self.agents.control_names, action)}

    def _sampling(self, controls: dict[str, float], round_no: int, i: int) -> Sampling:
        """Executor i's sampling: greedy at the token cap, under the controls its policy
        chose (a max_tokens control is sent as a whole number)."""
        chosen = {"max_tokens": self.max_tokens, **controls}
        chosen["max_tokens"] = int(chosen["max_tokens"])
        return Sampling(**chosen, seed=self.seed + 100 * round_no + i)

    def solve_sync(self, question: str, benchmark: Benchmark | None = None) -> EconResult:
        """For scripts and notebooks without an event loop."""
        return asyncio.run(self.solve(question, benchmark))

    def greedy_policy(self, obs: torch.Tensor) -> torch.Tensor:
        """The deterministic policy used at inference, one question's executors at a time
        (`EconAgents.act` over a batch): [N, obs_dim] -> [N, A] real units."""
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
        """The coordinator's method for this question ("" when the strategy is ablated)."""
        return await self.coordinator.strategy(question, bench, log) if self.use_strategy else ""
