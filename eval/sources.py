"""The dataset YAML (spec §3.2) and the registry of source types that open its inputs."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from eval.jsonl import JsonlSource
from eval.parquet import ParquetSource
from eval.progress import ProgressBar
from eval.yamlstrict import load_strict
from schemas.errors import ConfigError

if TYPE_CHECKING:
    from eval.kafka_source import KafkaSource

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True)
class SourceConfig:
    """One input: ``type`` jsonl|parquet (path) or postgres|duckdb (dsn+query) or kafka."""

    type: str = "jsonl"
    path: str = ""
    dsn: str = ""
    query: str = ""
    bootstrap: str = ""
    topic: str = ""
    registry_url: str = ""
    """kafka: a Confluent-compatible Schema Registry (empty: the ids built from schemas/)."""

    def check(self) -> None:
        """The type must be known, and file types need a path."""
        kind = self.type.lower()
        if kind not in SOURCE_TYPES:
            known = ", ".join(sorted(SOURCE_TYPES))
            raise ConfigError(f"unknown source type {self.type!r} (known: {known})")
        if kind in ("jsonl", "parquet") and not self.path:
            raise ConfigError(f"type {kind} needs a path")


@dataclass(frozen=True)
class InterleavingSources:
    ranker_a: SourceConfig | None = None
    ranker_b: SourceConfig | None = None
    outcomes: SourceConfig | None = None


@dataclass(frozen=True)
class DatasetConfig:
    """The dataset file: where exposures, outcomes, assignments and ranklists come from."""

    exposures: SourceConfig | None = None
    outcomes: SourceConfig | None = None
    assignments: SourceConfig | None = None
    interleaving: InterleavingSources | None = None


def load_dataset(path: Path) -> DatasetConfig:
    """Load the dataset YAML strictly (unknown keys name file and line)."""
    return load_strict(DatasetConfig, path)


class RecordSource(Protocol[T_co]):
    """An iterable of records that can say where it is (file and line) for errors."""

    name: str

    def __iter__(self) -> Any: ...

    def location(self) -> str: ...


Opener = Callable[[SourceConfig, str, Callable[[Any], Any], ProgressBar | None], Any]


def _open_jsonl(
    source: SourceConfig, name: str, decode: Callable[[Any], Any], progress: ProgressBar | None
) -> JsonlSource[Any]:
    return JsonlSource(Path(source.path), decode, name=name, progress=progress)


def _open_parquet(
    source: SourceConfig, name: str, decode: Callable[[Any], Any], progress: ProgressBar | None
) -> ParquetSource[Any]:
    return ParquetSource(Path(source.path), decode, name=name)


def _open_kafka(
    source: SourceConfig, name: str, decode: Callable[[Any], Any], progress: ProgressBar | None
) -> KafkaSource[Any]:
    if not source.bootstrap or not source.topic:
        raise ConfigError(f"{name}: type kafka needs bootstrap and topic")
    # imported here: the Kafka client costs about half a second of start-up
    from eval.kafka_source import KafkaSource

    return KafkaSource(
        source.bootstrap, source.topic, decode, name=name, registry_url=source.registry_url or None
    )


def _unavailable(message: str) -> Opener:
    def opener(
        source: SourceConfig, name: str, decode: Callable[[Any], Any], progress: ProgressBar | None
    ) -> Any:
        raise ConfigError(f"{name}: {message}")

    return opener


SOURCE_TYPES: dict[str, Opener] = {
    "jsonl": _open_jsonl,
    "parquet": _open_parquet,
    "kafka": _open_kafka,
    "postgres": _unavailable("postgres sources are not available in this build"),
    "duckdb": _unavailable("duckdb sources are not available in this build"),
}


def open_source(
    source: SourceConfig | None,
    name: str,
    decode: Callable[[Any], T],
    progress: ProgressBar | None = None,
) -> RecordSource[T]:
    """Open a configured input; a missing one is a ConfigError naming it."""
    if source is None:
        raise ConfigError(f"the dataset has no {name!r} source, which this mode needs")
    opened: RecordSource[T] = SOURCE_TYPES[source.type.lower()](source, name, decode, progress)
    return opened


def read_all(source: RecordSource[T]) -> list[T]:
    """Materialise a source (memory mode).

    The cyclic GC is paused while loading: records hold no reference cycles, and
    without the pause CPython rescans the growing heap again and again (about a
    third of the load time at 100k exposures).
    """
    items: Iterable[T] = source
    with gc_paused():
        return list(items)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while loading records (they hold no reference cycles)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
