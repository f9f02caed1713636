"""LLM backends behind one interface: embedded llama.cpp with packaged models, or any
OpenAI-compatible server. Methods only ever see `LLM.chat`; `make_llm` turns a spec string
from the config or the command line into a backend."""

from __future__ import annotations

from pathlib import Path

import pydantic

from econ.errors import UserError
from econ.llm import registry
from econ.llm.base import LLM, Completion, LLMError, Message
from econ.llm.openai_compat import OpenAICompatLLM, aclose_clients

__all__ = [
    "LLM",
    "Completion",
    "LLMError",
    "LLMSettings",
    "Message",
    "OpenAICompatLLM",
    "aclose_all",
    "make_llm",
    "registry",
]

SPEC_FORMS = "local:NAME, local:/path/model.gguf, openai:MODEL@BASE_URL"


class LLMSettings(pydantic.BaseModel, extra="forbid"):
    """Backend settings shared by every LLM a run creates."""

    concurrency: int = pydantic.Field(4, ge=1)  # max in-flight requests per endpoint
    timeout_s: float = pydantic.Field(300.0, gt=0)
    max_retries: int = pydantic.Field(4, ge=0)  # on connect errors, timeouts, 429 and 5xx
    api_key_env: str = "OPENAI_API_KEY"  # the key itself is never stored anywhere
    slots: int = pydantic.Field(4, ge=1)  # embedded server parallel slots
    ctx_size: int = pydantic.Field(4096, ge=256)  # embedded server context per slot


_cache: dict[tuple[str, str], LLM] = {}


def make_llm(spec: str, settings: LLMSettings | None = None) -> LLM:
    """Backend for a spec string; the same spec and settings give the same instance."""
    settings = settings or LLMSettings()
    key = (spec, settings.model_dump_json())
    if key not in _cache:
        _cache[key] = _build(spec, settings)
    return _cache[key]


def _build(spec: str, settings: LLMSettings) -> LLM:
    kind, _, rest = spec.partition(":")
    if kind == "local" and rest:
        from econ.llm.embedded import EmbeddedLLM

        return EmbeddedLLM(_local_path(rest), settings, name=spec)
    if kind == "openai":
        model, at, base_url = rest.partition("@")
        if at and model and base_url.startswith(("http://", "https://")):
            return OpenAICompatLLM.from_env(model, base_url, settings, name=spec)
    raise UserError(f"invalid model spec {spec!r}; use one of: {SPEC_FORMS}")


def _local_path(ref: str) -> Path:
    """A packaged model name, or a path to any GGUF file."""
    if ref in registry.MODELS:
        return registry.model_path(ref)
    if ref.endswith(".gguf") or "/" in ref:
        path = Path(ref).expanduser()
        if not path.is_file():
            raise UserError(f"model file not found: {path}")
        return path
    raise UserError(
        f"unknown local model {ref!r}; choose one of: {', '.join(registry.MODELS)} "
        "or a path to a .gguf file"
    )


async def aclose_all() -> None:
    """Close the HTTP connections of the running event loop (embedded servers stop at exit)."""
    await aclose_clients()
