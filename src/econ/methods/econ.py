"""ECON at inference (SPEC 4.1-4.3): strategy -> belief-steered executors -> commitment.

One question costs 1 strategy call + N executor calls + 1 commitment call (plus one local
commitment per group when N exceeds the group size, and revisions in stage-2 rounds).
Executors never see each other's texts; each samples with the (temperature, top_p) that its
own belief network chose from its own observation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from econ.belief.embedder import Embedder
from econ.belief.history import HISTORY_DIM, AgentHistory
from econ.belief.networks import BeliefConfig, EconAgents
from econ.config import RunConfig
from econ.errors import UserError
from econ.llm import make_llm
from econ.llm.base import LLM
from econ.methods import econ_prompts as P
from econ.methods.base import CallLog, Method, Solution, majority
from econ.methods.registry import register
from econ.tasks import Benchmark, get_benchmark


@dataclass
class ExecutorOutcome:
    model: str
    temperature: float
    top_p: float
    response: str
    answer: str | None
    completion_tokens: int


@dataclass
class EconResult:
    """Everything one question produced. `obs` and `actions` are kept for training."""

    answer: str | None
    strategy: str
    executors: list[ExecutorOutcome]
    commitment: str
    rounds: int
    commitments: list[str | None]
    usage: dict
    seconds: float
    trace: list[dict]
    obs: torch.Tensor = field(repr=False)
    actions: torch.Tensor = field(repr=False)

    def to_json(self) -> dict:
        return {
            "answer": self.answer,
            "strategy": self.strategy,
            "executors": [vars(e) for e in self.executors],
            "commitment": self.commitment,
            "rounds": self.rounds,
            "commitments": self.commitments,
            "usage": {
                k: self.usage[k]
                for k in ("prompt_tokens", "completion_tokens", "calls", "per_model")
            },
            "seconds": round(self.seconds, 3),
        }


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
        strategy_max_tokens: int = 70,
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
        """Models from the config; belief networks from `econ.checkpoint` unless given."""
        if "agents" not in kwargs and cfg.econ.checkpoint:
            agents, history = load_team(cfg.econ.checkpoint, len(cfg.executor_models()))
            kwargs["agents"] = agents
            kwargs.setdefault("history", history)
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
        noise_std: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> EconResult:
        bench = benchmark or get_benchmark("demo")
        log = log if log is not None else CallLog()
        start = time.perf_counter()

        strategy = await self.strategy(question, log)
        obs = await self.observe(question, strategy)
        actions = self.agents.act(obs.unsqueeze(0), noise_std=noise_std, generator=generator)[0]

        base = P.executor_messages(question, strategy)
        outcomes = await asyncio.gather(
            *(self._execute(i, base, actions[i], log, round=0) for i in range(len(self.executors)))
        )
        answer, commitment = await self._commit(question, strategy, outcomes, bench, log, round=0)
        commitments = [answer]

        rounds = 0
        for r in range(1, self.bne_rounds + 1):
            dissent = [i for i, o in enumerate(outcomes) if not bench.same_answer(o.answer, answer)]
            if answer is None or not dissent:
                break
            rounds = r
            why = P.rationale(commitment)
            revised = await asyncio.gather(
                *(
                    self._execute(
                        i,
                        P.revision_messages(question, strategy, outcomes[i].response, answer, why),
                        actions[i],
                        log,
                        round=r,
                    )
                    for i in dissent
                )
            )
            for i, o in zip(dissent, revised):
                outcomes[i] = o
            new_answer, commitment = await self._commit(
                question, strategy, outcomes, bench, log, round=r
            )
            commitments.append(new_answer)
            stable = bench.same_answer(new_answer, answer)
            answer = new_answer
            if stable:
                break

        return EconResult(
            answer=answer,
            strategy=strategy,
            executors=list(outcomes),
            commitment=commitment,
            rounds=rounds,
            commitments=commitments,
            usage=log.usage(),
            seconds=time.perf_counter() - start,
            trace=log.calls,
            obs=obs,
            actions=actions,
        )

    def solve_sync(self, question: str, benchmark: Benchmark | None = None) -> EconResult:
        """For scripts and notebooks without an event loop."""
        return asyncio.run(self.solve(question, benchmark))

    async def observe(self, question: str, strategy: str) -> torch.Tensor:
        """o_i = [emb(question); emb(strategy); history_i] (the network adds the agent id)."""
        emb = await asyncio.to_thread(self.embedder.encode, [question, strategy])
        n = len(self.executors)
        shared = emb.reshape(1, -1).expand(n, -1)
        hist = self.history.features()
        assert hist.shape == (n, HISTORY_DIM)
        return torch.cat([shared.cpu(), hist], dim=1)

    async def strategy(self, question: str, log: CallLog) -> str:
        """The coordinator's method for this question ("" when the strategy is ablated)."""
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
            if not P.strategy_is_bad(text, comp.finish_reason):
                return text
        return P.trim_strategy(text)

    async def _execute(
        self, i: int, messages: list, action: torch.Tensor, log: CallLog, round: int
    ) -> ExecutorOutcome:
        temperature, top_p = (round_action(float(x)) for x in action)
        comp = await log.chat(
            self.executors[i],
            messages,
            role="executor",
            round=round,
            agent=i,
            temperature=temperature,
            top_p=top_p,
            max_tokens=self.max_tokens,
            seed=self.seed + 100 * round + i,
        )
        return ExecutorOutcome(
            model=comp.model,
            temperature=temperature,
            top_p=top_p,
            response=comp.text,
            answer=None,
            completion_tokens=comp.completion_tokens,
        )

    async def _commit(
        self,
        question: str,
        strategy: str,
        outcomes: Sequence[ExecutorOutcome],
        bench: Benchmark,
        log: CallLog,
        round: int,
    ) -> tuple[str | None, str]:
        """Local commitments per group of g executors, then a global one over the ceil(N/g) groups,
        so no coordinator prompt holds more than max(g, ceil(N/g)) responses."""
        for o in outcomes:
            o.answer = bench.extract(o.response)
        answers = [o.answer for o in outcomes]
        if self.commit_by_vote:
            vote = majority(answers, bench)
            return vote, f"majority vote: \\boxed{{{vote}}}"

        g = self.group_size
        groups = [list(range(k, min(k + g, len(outcomes)))) for k in range(0, len(outcomes), g)]
        local = await asyncio.gather(
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
                    role="coordinator" if len(groups) == 1 else "local_coordinator",
                    round=round,
                    agent=None if len(groups) == 1 else k,
                )
                for k, grp in enumerate(groups)
            )
        )
        if len(groups) == 1:
            return local[0]
        support = [
            (sum(bench.same_answer(answers[i], ans) for i in grp), len(grp))
            for (ans, _), grp in zip(local, groups)
        ]
        return await self._one_commit(
            P.global_commit_messages(
                question, strategy, [text for _, text in local], [a for a, _ in local], support
            ),
            answers,
            bench,
            log,
            role="coordinator",
            round=round,
        )

    async def _one_commit(self, messages, fallback_answers, bench, log, *, role, round, agent=None):
        comp = await log.chat(
            self.coordinator,
            messages,
            role=role,
            round=round,
            agent=agent,
            temperature=0.0,
            max_tokens=self.max_tokens,
            seed=self.seed,
        )
        answer = bench.extract(comp.text)
        if answer is None:
            # A commitment without an answer is no commitment: fall back to the executors' vote.
            answer = majority(fallback_answers, bench)
        return answer, comp.text


def load_team(checkpoint: str | Path, n_executors: int) -> tuple[EconAgents, AgentHistory | None]:
    """Trained belief networks (and the history features training ended with) for N executors.

    Accepts a checkpoint directory or the training run directory that holds one.
    """
    from econ.belief.checkpoint import CheckpointError, load_checkpoint

    path = Path(checkpoint)
    if (path / "checkpoint").is_dir():
        path = path / "checkpoint"
    agents, _, state = load_checkpoint(path)
    if agents.cfg.n_agents != n_executors:
        raise CheckpointError(
            f"checkpoint {path} has belief networks for {agents.cfg.n_agents} executors, "
            f"but the team has {n_executors}"
        )
    history = AgentHistory.from_state(state["history"]) if "history" in state else None
    return agents, history


def round_action(x: float) -> float:
    """Sampling parameters sent to servers and logged: three decimals are plenty."""
    return round(x, 3)


class _EconMethod(Method):
    """Adapter from EconSystem to the harness's Method interface."""

    options: dict = {}

    def __init__(self, cfg: RunConfig):
        self.system = EconSystem.from_config(cfg, **self.options)

    async def solve(self, question: str, benchmark: Benchmark, log: CallLog) -> Solution:
        result = await self.system.solve(question, benchmark, log)
        return Solution(result.answer, result.to_json())


@register
class Econ(_EconMethod):
    name = "econ"
    help = "coordinator strategy, belief-steered executors, coordinator commitment"


@register
class EconVote(_EconMethod):
    name = "econ-vote"
    help = "ablation: majority of the executors instead of the commitment"
    options = {"commit_by_vote": True}


@register
class EconNoStrategy(_EconMethod):
    name = "econ-nostrategy"
    help = "ablation: no strategy call"
    options = {"use_strategy": False}
