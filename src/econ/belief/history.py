"""Per-executor history features: the part of an observation that is about the agent's past.

Four numbers per agent: mean recent reward, last reward, recent agreement rate with the
commitment, last agreement. Updated by training only, so that evaluation is reproducible
(questions finish in any order when they run concurrently) and uses the state training ended in.
"""

from __future__ import annotations

from collections import deque

import torch

HISTORY_DIM = 4


class AgentHistory:
    def __init__(self, n_agents: int, window: int = 8):
        self.window = window
        self.rewards = [deque(maxlen=window) for _ in range(n_agents)]
        self.agreements = [deque(maxlen=window) for _ in range(n_agents)]

    def update(self, rewards: list[float], agreements: list[bool]) -> None:
        for i, (r, a) in enumerate(zip(rewards, agreements, strict=True)):
            self.rewards[i].append(float(r))
            self.agreements[i].append(float(a))

    def features(self) -> torch.Tensor:
        rows = []
        for rs, ags in zip(self.rewards, self.agreements):
            rows.append(
                [
                    sum(rs) / len(rs) if rs else 0.0,
                    rs[-1] if rs else 0.0,
                    sum(ags) / len(ags) if ags else 0.0,
                    ags[-1] if ags else 0.0,
                ]
            )
        return torch.tensor(rows, dtype=torch.float32)

    def state_dict(self) -> dict:
        return {
            "window": self.window,
            "rewards": [list(d) for d in self.rewards],
            "agreements": [list(d) for d in self.agreements],
        }

    def refresh(self, obs: torch.Tensor) -> torch.Tensor:
        """Observations [..., N, obs_dim] with their history features (the last HISTORY_DIM
        columns) replaced by the current ones: how stored questions look to the agents now."""
        hist = self.features().to(obs.device, obs.dtype)
        return torch.cat([obs[..., :-HISTORY_DIM], hist.expand(*obs.shape[:-1], -1)], dim=-1)

    @classmethod
    def from_state(cls, state: dict) -> AgentHistory:
        h = cls(len(state["rewards"]), state["window"])
        for i, (rs, ags) in enumerate(zip(state["rewards"], state["agreements"])):
            h.rewards[i].extend(rs)
            h.agreements[i].extend(ags)
        return h
