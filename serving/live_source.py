"""What the live metrics API and dashboard read: the live join's documents.

``LiveSource`` is implemented by ``serving.live_reader.LiveReader`` (merged partition
snapshots from ``recsys.views.live.v1``) and by ``InMemoryLiveSource`` (fixed
documents, for handler tests). Document shapes are described in ``docs/live.md``:

* overview: ``{"as_of_ms", "totals": NS, "namespaces": [NS + {"tenant", "surface"}],
  "dead_letters", "lag_records", "experiments": [ids]}`` where NS holds
  ``exposures, outcomes, exposure_join_rate, outcome_join_rate, orphans, duplicates,
  empty_list_rate, error_rate, latency_p95_ms``;
* experiment: the offline report's ``experiment`` section (variants, by_segment,
  guardrails, significance) plus ``srm``, per-request CTR and ``by_surface``.

``tenant`` restricts a document to that tenant's data (tenant isolation).
"""

from __future__ import annotations

import copy
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class LiveSource(Protocol):
    def overview(self, tenant: str | None = None) -> dict[str, Any]: ...
    def experiment(
        self, experiment_id: str, tenant: str | None = None
    ) -> dict[str, Any] | None: ...
    def experiment_ids(self, tenant: str | None = None) -> list[str]: ...


class InMemoryLiveSource:
    """A ``LiveSource`` over fixed documents (tests and demos); ``tenant`` is ignored."""

    def __init__(
        self, overview_doc: dict[str, Any], experiments: dict[str, dict[str, Any]]
    ) -> None:
        self._overview = overview_doc
        self._experiments = experiments

    def overview(self, tenant: str | None = None) -> dict[str, Any]:
        return copy.deepcopy(self._overview)

    def experiment(self, experiment_id: str, tenant: str | None = None) -> dict[str, Any] | None:
        doc = self._experiments.get(experiment_id)
        return None if doc is None else copy.deepcopy(doc)

    def experiment_ids(self, tenant: str | None = None) -> list[str]:
        return sorted(self._experiments)
