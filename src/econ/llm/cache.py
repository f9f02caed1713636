"""A request cache on disk: a request made before is answered from there, not by the model.

Re-running a run (to add a method, to re-plot, after a crash, on another day) repeats
thousands of calls whose answers are already known; lm-evaluation-harness (`--use_cache`)
and Inspect (`cache=`) users expect those to cost nothing. `CachedLLM` wraps any backend,
so methods never know whether an answer came from the cache.

A request's key is the sha256 of everything that decides its answer:

- the model's identity: a GGUF file's sha256 for `local:` models (pinned for packaged
  ones, hashed once per file version otherwise), the model id and base URL (without
  credentials) for `openai:` servers, so the same name on another server is another model;
- the messages, temperature, top_p, repetition penalty (and for `openai:` servers the
  field it is sent under), max_tokens and seed.

Unseeded sampling at temperature > 0 is never cached: it is meant to differ every time.

A hit is a `Completion` with `cached=True`: its tokens are the original completion's, so
a run's token accounting compares with the run that paid for them; `latency_s` is the
lookup's (about 0) and no request is reported, so `calls` in records and summaries counts
the requests really sent, 0 for a hit.

Storage is one SQLite file in WAL mode: readers never wait for the writer, each write is
one atomic statement, and a busy timeout lets several processes share the file. Within a
process, every backend shares one connection per file behind a lock; the event loop hands
each lookup and write to a thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from econ.errors import UserError
from econ.llm.base import LLM, Completion, Message, Reply, Sampling, attempt_sink
from econ.llm.registry import econ_home, sha256_file

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
APPLICATION_ID = 0x45434F4E  # "ECON": marks a SQLite file as this cache (PRAGMA application_id)
COLUMNS = ("key", "model", "text", "prompt_tokens", "completion_tokens", "finish_reason", "created")
# How long a statement waits for another process's write before it fails.
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    finish_reason TEXT,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
"""


def default_path() -> Path:
    """The cache file `llm.cache: true` uses: $ECON_HOME/cache.sqlite."""
    return econ_home() / "cache.sqlite"


def cache_path(setting: bool | str) -> Path:
    """The file an enabled `llm.cache` setting names: true means the default file, a string
    is a path (relative ones to the working directory)."""
    return default_path() if setting is True else Path(setting).expanduser()


def server_identity(model: str, base_url: str) -> str:
    """An `openai:` model's identity: model id and base URL without user:password.

    Credentials say who asks, not what answers, and must never reach the cache file.
    """
    parts = urlsplit(base_url.rstrip("/"))
    host = parts.netloc.rsplit("@", 1)[-1]
    return f"openai:{model}@{urlunsplit(parts._replace(netloc=host))}"


@dataclass(frozen=True)
class CacheInfo:
    """What `econ cache info` shows."""

    path: Path
    exists: bool
    entries: int
    size_bytes: int  # the database file and its write-ahead log


class ResponseCache:
    """One cache file. Use `open_cache`, which shares one instance per file in a process."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            self._init_schema()
        except (OSError, sqlite3.Error) as exc:
            raise UserError(f"cannot use the request cache {path}: {exc}") from None

    def _init_schema(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        check_is_cache(self._db, self.path)
        if version > SCHEMA_VERSION:
            raise UserError(
                f"the request cache {self.path} was written by a newer econ (schema "
                f"{version}); point llm.cache at another file or upgrade econ"
            )
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL stays consistent; fsync per checkpoint
        if version < SCHEMA_VERSION:  # a new file (WAL mode is then stored in it for good)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._db.execute(f"PRAGMA application_id={APPLICATION_ID}")

    def get(self, key: str) -> Reply | None:
        """The reply stored for a key."""
        with self._lock:
            row = self._db.execute(
                "SELECT text, prompt_tokens, completion_tokens, finish_reason "
                "FROM completions WHERE key = ?",
                (key,),
            ).fetchone()
        return None if row is None else Reply(*row)

    def put(self, key: str, model: str, comp: Completion) -> None:
        """Store a completion; a key already stored keeps its first answer, so every later
        run sees the same one."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO completions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    model,
                    comp.text,
                    comp.prompt_tokens,
                    comp.completion_tokens,
                    comp.finish_reason,
                    time.time(),
                ),
            )

    def file_sha256(self, path: Path) -> str:
        """A model file's sha256, hashed once per (size, mtime) of the file and kept here,
        since hashing a multi-GB GGUF on every start would cost more than many calls."""
        path = path.resolve()
        stat = path.stat()
        with self._lock:
            row = self._db.execute(
                "SELECT sha256 FROM files WHERE path = ? AND size = ? AND mtime_ns = ?",
                (str(path), stat.st_size, stat.st_mtime_ns),
            ).fetchone()
        if row is not None:
            return row[0]
        digest = sha256_file(path)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)",
                (str(path), stat.st_size, stat.st_mtime_ns, digest),
            )
        return digest

    def entries(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]

    def clear(self) -> int:
        """Delete every entry and give the space back; returns how many were deleted."""
        with self._lock:
            try:
                deleted = self._db.execute("DELETE FROM completions").rowcount
                self._db.execute("DELETE FROM files")
                self._db.execute("VACUUM")
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                raise UserError(f"cannot clear the request cache {self.path}: {exc}") from None
        return deleted


_open: dict[Path, ResponseCache] = {}
_open_lock = threading.Lock()


def open_cache(path: Path) -> ResponseCache:
    """The process's one `ResponseCache` for this file, created on first use."""
    path = path.expanduser().resolve()
    with _open_lock:
        if path not in _open:
            _open[path] = ResponseCache(path)
        return _open[path]


def check_is_cache(db: sqlite3.Connection, path: Path) -> None:
    """Refuse a SQLite file that is not this cache: one that `econ cache clear` would empty
    or `--cache` would add tables to. A new, empty file passes; so does one written before
    the cache marked its files (schema version 1 with exactly this cache's columns)."""
    app_id = db.execute("PRAGMA application_id").fetchone()[0]
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if app_id == APPLICATION_ID or (app_id == 0 and not tables):
        return
    columns = tuple(r[1] for r in db.execute("PRAGMA table_info(completions)"))
    legacy = db.execute("PRAGMA user_version").fetchone()[0] == 1 and columns == COLUMNS
    if app_id != 0 or not legacy or not tables <= {"completions", "files"}:
        raise UserError(f"{path} is not an econ request cache; give --path the cache's file")


def cache_info(path: Path) -> CacheInfo:
    """Entries and size of a cache file, read-only: nothing is created, converted or
    written, whatever the file is."""
    path = path.expanduser()
    if not path.is_file():
        return CacheInfo(path, False, 0, 0)
    size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.is_file())
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            tables = db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
            if not tables and db.execute("PRAGMA application_id").fetchone()[0] == 0:
                return CacheInfo(path, True, 0, size)
            check_is_cache(db, path)
            entries = db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise UserError(f"cannot read the request cache {path}: {exc}") from None
    return CacheInfo(path, True, entries, size)


class CachedLLM:
    """An LLM whose cacheable requests are answered from a `ResponseCache` when they can be.

    `identity` names what answers (see the module docstring); `penalty_field` is the request
    field the repetition penalty goes out under, None where it is fixed by the backend.
    """

    def __init__(
        self, inner: LLM, cache: ResponseCache, identity: str, penalty_field: str | None = None
    ):
        self.inner = inner
        self.name = inner.name
        self.identity = identity
        self._cache = cache
        self._penalty_field = penalty_field

    def __repr__(self) -> str:
        return f"CachedLLM({self.inner!r}, {str(self._cache.path)!r})"

    def key(self, messages: list[Message], sampling: Sampling) -> str:
        """The request's cache key. Numbers are normalised (0 and 0.0 are one temperature)."""
        seed, penalty = sampling.seed, sampling.repetition_penalty
        request = {
            "model": self.identity,
            "messages": messages,
            "temperature": float(sampling.temperature),
            "top_p": float(sampling.top_p),
            "max_tokens": int(sampling.max_tokens),
            "seed": None if seed is None else int(seed),
            "repetition_penalty": None if penalty is None else float(penalty),
        }
        if penalty is not None and self._penalty_field is not None:
            request["repetition_penalty_field"] = self._penalty_field
        blob = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    async def chat(self, messages: list[Message], sampling: Sampling) -> Completion:
        """The stored answer to this request, else the model's (then stored)."""
        if sampling.temperature > 0 and sampling.seed is None:
            return await self.inner.chat(messages, sampling)
        sink = attempt_sink()
        if sink is not None:
            sink.reported = True  # this call counts the requests it sends: none for a hit
        start = time.perf_counter()
        key = self.key(messages, sampling)
        try:
            hit = await asyncio.to_thread(self._cache.get, key)
        except sqlite3.Error as exc:  # a cache that fails must not fail the call
            log.warning("request cache %s: lookup failed (%s)", self._cache.path, exc)
            hit = None
        if hit is not None:
            latency_s = time.perf_counter() - start
            return Completion.of(hit, sampling, model=self.name, latency_s=latency_s, cached=True)
        comp = await self.inner.chat(messages, sampling)
        try:
            await asyncio.to_thread(self._cache.put, key, self.identity, comp)
        except asyncio.CancelledError:
            # The reply arrived but never reaches the caller: account its request as one
            # that did not give the answer (the write itself still finishes in its thread).
            if sink is not None:
                sink.failed.append(
                    {
                        "error": "cancelled",
                        "prompt_tokens": comp.prompt_tokens,
                        "completion_tokens": comp.completion_tokens,
                        "latency_s": round(time.perf_counter() - start, 4),
                    }
                )
            raise
        except sqlite3.Error as exc:
            log.warning("request cache %s: not stored (%s)", self._cache.path, exc)
        return comp
