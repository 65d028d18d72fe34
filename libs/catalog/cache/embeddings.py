"""Embedding providers behind one interface.

`HashingEmbedder` is the offline default: signed feature hashing of character n-grams and word
tokens of the normalized title. It needs no network, no GPU and no model download, is
deterministic, and is strong on what the semantic cache compares — near-identical product titles
written differently ("256 GB" vs "256gb", word order, accents). `OpenAIEmbedder` calls the
embeddings endpoint through the real SDK in batched requests. The model name and dimension are
part of every stored vector, so the two never mix.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from openai import AsyncOpenAI

from catalog.domain.identity import normalize_title


class EmbeddingProvider(Protocol):
    model: str
    dim: int

    async def embed(self, texts: Sequence[str]) -> list[np.ndarray]: ...


class HashingEmbedder:
    """Word tokens (weight `word_weight`) plus character n-grams of each padded word, hashed
    with a sign into `dim` buckets and L2-normalised. Variants serve the offline comparison in
    `catalog.evaluation.semantic_cache`; the default is the production configuration."""

    def __init__(
        self,
        dim: int = 384,
        model: str = "char-ngram-hash-v1",
        ngram_sizes: tuple[int, ...] = (3, 4),
        word_weight: float = 2.0,
    ) -> None:
        self.dim = dim
        self.model = model
        self.ngram_sizes = ngram_sizes
        self.word_weight = word_weight

    def embed_one(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        normalized = normalize_title(text)
        tokens = normalized.split()
        features: list[tuple[str, float]] = []
        if self.word_weight:
            features.extend((f"w:{t}", self.word_weight) for t in tokens)
        for token in tokens:
            padded = f"#{token}#"
            for n in self.ngram_sizes:
                features.extend((padded[i : i + n], 1.0) for i in range(len(padded) - n + 1))
        for feature, weight in features:
            h = zlib.crc32(feature.encode())
            sign = 1.0 if h & 0x80000000 else -1.0
            vector[h % self.dim] += sign * weight
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    async def embed(self, texts: Sequence[str]) -> list[np.ndarray]:
        return [self.embed_one(t) for t in texts]


class OpenAIEmbedder:
    def __init__(self, client: AsyncOpenAI, model: str, dim: int, batch_size: int = 256) -> None:
        self.client = client
        self.model = model
        self.dim = dim
        self.batch_size = batch_size

    async def embed(self, texts: Sequence[str]) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for start in range(0, len(texts), self.batch_size):
            chunk = [normalize_title(t) or t for t in texts[start : start + self.batch_size]]
            response = await self.client.embeddings.create(
                model=self.model, input=chunk, dimensions=self.dim
            )
            for item in sorted(response.data, key=lambda d: d.index):
                out.append(np.asarray(item.embedding, dtype=np.float32))
        return out
