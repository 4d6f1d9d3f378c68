"""Catalog fallback (ours, not in the spec): the newest catalog items top up a short pool.

The original returns fewer than k items when popularity (and co-visitation) have fewer
candidates; its only fallback is retrying the namespace ``default`` (spec §5.8). With
``RankQuery.catalog_fill`` (tenant flag ``catalog_fallback``, default on) and a pool
whose items outside ``exclude_ids`` number fewer than k, the tenant's newest available
catalog items (``CatalogListing.newest``: created_at desc, undated last, item_id asc)
that are not in the pool yet join it, until it holds ``fanout + len(exclude_ids)``
items — what popularity alone would have offered. They enter with their popularity
(0 in a new namespace), so they rank after the real candidates and, among themselves,
by item_id (the final order of spec §4.5 step 10); exclusions, required tags, rules and
constraints apply to them like to any candidate. Their reasons start with
``catalog_fallback``. The response says so: ``SIGNAL_UNAVAILABLE`` when popularity had
nothing for the namespace (a missing signal, the spec's code for it), else
``CATALOG_FALLBACK``. No fill with an allow-list (``include_ids``): it would be dropped.
"""

from __future__ import annotations

from collections.abc import Collection

from serving.engine.model import RankQuery
from serving.engine.warnings import ServingWarning
from serving.views import CatalogListing, CatalogView

CATALOG_REASON = "catalog_fallback"


def _candidates(n: int) -> str:
    return f"{n} candidate{'' if n == 1 else 's'}"


def catalog_fill(
    query: RankQuery, catalog: CatalogView, pool: Collection[str], target: int,
    popularity_empty: bool,
) -> tuple[tuple[str, ...], ServingWarning | None]:
    """The ids to add to ``pool`` (newest first) and the warning saying so."""
    if not query.catalog_fill or query.include_ids or not isinstance(catalog, CatalogListing):
        return (), None
    exclude = frozenset(query.exclude_ids)
    servable = sum(1 for item in pool if item not in exclude)
    if servable >= query.k or target <= len(pool):
        return (), None
    where = f"{query.tenant}/{query.surface}"
    why = (f"popularity unavailable: no popularity for {where}" if popularity_empty
           else f"{_candidates(servable)} for {where}, fewer than k={query.k}")
    try:
        # at most len(pool) of the newest are in the pool already
        listed = catalog.newest(query.tenant, target)
    except Exception as exc:  # a signal that is not ready is a warning, never a 500
        return (), _warning(popularity_empty, f"{why}; catalog fallback failed: {exc}")
    filled = tuple(m.item_id for m in listed if m.item_id not in pool)[: target - len(pool)]
    if not filled:
        return (), None
    # in a namespace without popularity they score 0; in a short one they may not (cooc mode)
    how = " yet; " if popularity_empty else "; "
    order = "newest first, score 0" if popularity_empty else "newest first"
    return filled, _warning(popularity_empty, f"{why}{how}{_candidates(len(filled))} "
                                              f"from the catalog ({order})")


def _warning(popularity_empty: bool, detail: str) -> ServingWarning:
    return ServingWarning("SIGNAL_UNAVAILABLE" if popularity_empty else "CATALOG_FALLBACK",
                          detail)
