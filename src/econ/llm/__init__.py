"""LLM backends behind one interface: embedded llama.cpp with packaged models, or any
OpenAI-compatible server. Methods only ever see `LLM.chat`; `make_llm` turns a spec string
from the config or the command line into a backend."""

from __future__ import annotations

from pathlib import Path

import pydantic

from econ.errors import UserError
from econ.llm import registry
from econ.llm.base import LLM, Completion, LLMError, Message, Sampling
from econ.llm.cache import CachedLLM, cache_path, open_cache, server_identity
from econ.llm.endpoints import base_url_problem, redact_url
from econ.llm.openai_compat import REMOTE_CONCURRENCY, OpenAICompatLLM, aclose_clients

__all__ = [
    "LLM",
    "CachedLLM",
    "Completion",
    "LLMError",
    "LLMSettings",
    "Message",
    "OpenAICompatLLM",
    "Sampling",
    "aclose_all",
    "default_concurrency",
    "make_llm",
    "model_file_identity",
    "redact_spec",
    "registry",
]

SPEC_FORMS = "local:NAME, local:/path/model.gguf, openai:MODEL@BASE_URL"
# Model files up to this size are hashed for a run's provenance (about 10 s per GiB here).
HASH_LIMIT_BYTES = 4 * 2**30


class LLMSettings(pydantic.BaseModel, extra="forbid"):
    """Backend settings shared by every LLM a run creates."""

    # Requests in flight per endpoint. A run sets it from its top-level `concurrency`, the one
    # setting users see (so it is left out of saved configs); None: the backend's default,
    # the slot count for the embedded server and REMOTE_CONCURRENCY for openai: servers.
    concurrency: int | None = pydantic.Field(None, ge=1, exclude=True)
    # Deadline of one attempt, everything included: connect, the server's queue, the whole body.
    # A streamed attempt has it for its first token only (queue and prompt), then `stall_s`.
    timeout_s: float = pydantic.Field(300.0, gt=0)
    # Read replies as a stream of tokens, so that an attempt is given up only when the server
    # stops making progress, never because it is slow: None streams from the embedded server
    # and not from openai: servers (not every one sends token counts in a stream).
    stream: bool | None = None
    # A streamed attempt is given up after this many seconds without a new token.
    stall_s: float = pydantic.Field(60.0, gt=0)
    max_retries: int = pydantic.Field(4, ge=0)  # on connect errors, timeouts, 429, 5xx, bad bodies
    # Wait before the first retry; it doubles per retry up to 30x, plus up to this much jitter.
    # A server's Retry-After replaces it (capped at 60 s).
    backoff_s: float = pydantic.Field(1.0, gt=0)
    api_key_env: str = "OPENAI_API_KEY"  # the key itself is never stored anywhere
    slots: int = pydantic.Field(4, ge=1)  # embedded server parallel slots
    ctx_size: int = pydantic.Field(4096, ge=256)  # embedded server context per slot
    # The embedded server answers any process on 127.0.0.1 while it runs; naming a variable
    # here makes it require the key that variable holds.
    embedded_api_key_env: str | None = None
    # request field for the repetition penalty on openai: servers (the embedded one always
    # uses llama.cpp's "repeat_penalty"): vLLM/SGLang take "repetition_penalty"
    repetition_penalty_field: str = "repetition_penalty"
    # Request cache (econ.llm.cache): false, true ($ECON_HOME/cache.sqlite) or a file path.
    cache: bool | str = False

    @pydantic.field_validator("cache")
    @classmethod
    def _cache_path(cls, value: bool | str) -> bool | str:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must be true, false or a file path")
        return value


_cache: dict[tuple[str, str, int | None], LLM] = {}


def make_llm(spec: str, settings: LLMSettings | None = None) -> LLM:
    """Backend for a spec string; the same spec and settings give the same instance.

    With `settings.cache` on, the backend is wrapped in the request cache; the wrapped
    backend is the same instance an uncached run of this spec gets.
    """
    settings = settings or LLMSettings()
    key = (spec, settings.model_dump_json(), settings.concurrency)
    if key not in _cache:
        if settings.cache is False:
            _cache[key] = _build(spec, settings)
        else:
            inner = make_llm(spec, settings.model_copy(update={"cache": False}))
            _cache[key] = _cached(spec, inner, settings)
    return _cache[key]


def _cached(spec: str, inner: LLM, settings: LLMSettings) -> CachedLLM:
    """`inner` behind the request cache, keyed by what really answers (see econ.llm.cache)."""
    cache = open_cache(cache_path(settings.cache))
    kind, _, rest = spec.partition(":")
    if kind == "local":
        model = registry.MODELS.get(rest)
        digest = model.sha256 if model else cache.file_sha256(_local_path(rest))
        return CachedLLM(inner, cache, f"gguf-sha256:{digest}")
    model_id, _, base_url = rest.partition("@")
    return CachedLLM(
        inner, cache, server_identity(model_id, base_url), settings.repetition_penalty_field
    )


def _build(spec: str, settings: LLMSettings) -> LLM:
    kind, _, rest = spec.partition(":")
    if kind == "local" and rest:
        from econ.llm.embedded import EmbeddedLLM

        return EmbeddedLLM(_local_path(rest), settings, name=spec)
    if kind == "openai":
        model, at, base_url = rest.partition("@")
        if at and model and base_url.startswith(("http://", "https://")):
            problem = base_url_problem(base_url)
            if problem:
                raise UserError(f"invalid URL in model spec {redact_spec(spec)!r}: {problem}")
            return OpenAICompatLLM.from_env(model, base_url, settings, name=redact_spec(spec))
    raise UserError(f"invalid model spec {redact_spec(spec)!r}; use one of: {SPEC_FORMS}")


def redact_spec(spec: str) -> str:
    """The spec with credentials in its URL (openai:m@http://user:pw@host) replaced by ***.

    Used wherever a spec is shown or stored: LLM names (and so records), saved configs.
    """
    kind, _, rest = spec.partition(":")
    model, at, base_url = rest.partition("@")
    if kind != "openai" or not at:
        return spec
    return f"openai:{model}@{redact_url(base_url)}"


def default_concurrency(spec: str, settings: LLMSettings) -> int:
    """Requests in flight per endpoint for this spec, without building the backend."""
    if settings.concurrency:
        return settings.concurrency
    return settings.slots if spec.startswith("local:") else REMOTE_CONCURRENCY


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


def model_file_identity(spec: str) -> dict | None:
    """The model file behind a local: spec, for a run's provenance; None for other specs.

    Packaged models give their pinned sha256, which the file was verified against when it
    was assembled (`econ models verify` checks it again); any other file is hashed here,
    unless it is over HASH_LIMIT_BYTES, where its size stands in and a note says so.
    """
    kind, _, ref = spec.partition(":")
    if kind != "local":
        return None
    if ref in registry.MODELS:
        model = registry.MODELS[ref]
        return {
            "file": str(registry.models_dir() / model.filename),
            "sha256": model.sha256,
            "note": "pinned; verified when the file was assembled",
        }
    path = _local_path(ref)
    size = path.stat().st_size
    if size > HASH_LIMIT_BYTES:
        return {"file": str(path), "bytes": size, "sha256": None, "note": "not hashed: too big"}
    return {"file": str(path), "bytes": size, "sha256": registry.sha256_file(path)}


async def aclose_all() -> None:
    """Close the HTTP connections of the running event loop (embedded servers stop at exit)."""
    await aclose_clients()
