"""Dataset fingerprint: sha256 over the sorted description of every input (spec §3.8).

Parts: the mode; per source its name, type, basename and byte size, plus the sha256
of the contents when the file is ≤ 10 MiB; DSN + query for SQL sources. The parts
are sorted and joined with ``|``. (Same recipe as the original; the exact part
spelling is ours, so the hex differs from the Go tool's.)
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from eval.sources import DatasetConfig, SourceConfig
from schemas.errors import InputError

HASH_LIMIT = 10 * 1024 * 1024


def _named_sources(dataset: DatasetConfig) -> list[tuple[str, SourceConfig]]:
    named = [
        ("exposures", dataset.exposures),
        ("outcomes", dataset.outcomes),
        ("assignments", dataset.assignments),
    ]
    if dataset.interleaving is not None:
        named += [
            ("interleaving.ranker_a", dataset.interleaving.ranker_a),
            ("interleaving.ranker_b", dataset.interleaving.ranker_b),
            ("interleaving.outcomes", dataset.interleaving.outcomes),
        ]
    return [(name, source) for name, source in named if source is not None]


def _file_parts(name: str, source: SourceConfig) -> list[str]:
    path = Path(source.path)
    try:
        size = path.stat().st_size
    except OSError:
        return [f"{name}:{source.type}:{path.name}:missing"]
    parts = [f"{name}:{source.type}:{path.name}:{size}"]
    if size <= HASH_LIMIT:
        digest = hashlib.sha256()
        try:
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError as exc:  # a directory, no permission: as the readers say it
            raise InputError(f"{path}: cannot open {name}: {exc.strerror or exc}") from exc
        parts.append(f"{name}:sha256:{digest.hexdigest()}")
    return parts


def dataset_fingerprint(mode: str, dataset: DatasetConfig) -> str:
    """Hex sha256 identifying the inputs of a run."""
    parts = [f"mode:{mode}"]
    for name, source in _named_sources(dataset):
        kind = source.type.lower()
        if kind in ("jsonl", "parquet"):
            parts += _file_parts(name, source)
        elif kind == "kafka":
            parts.append(f"{name}:kafka:{source.bootstrap}:{source.topic}")
        else:
            parts.append(f"{name}:{kind}:{source.dsn}:{source.query}")
    return hashlib.sha256("|".join(sorted(parts)).encode()).hexdigest()
