"""Reads of the views for one ranking: a view's bulk methods when it has them, else the
per-item protocol methods (``serving.views``), with the very same answers either way.

The in-memory fakes of the tests only implement the protocols (so a fake that fails one
lookup fails exactly that lookup); ``ViewState`` adds the bulk methods of
``serving.views.BulkViews`` and saves an object and a method call per item.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

from serving.views import BulkViews, CatalogView, CovisitationView, ItemMeta, PopularityView


def _bulk(view: object, method: str) -> BulkViews | None:
    return cast(BulkViews, view) if hasattr(view, method) else None


def top_popularity(view: PopularityView, tenant: str, surface: str, n: int,
                   now_ms: int) -> Sequence[tuple[str, float]]:
    """The namespace's top ``n`` as (item_id, decayed score), rank order."""
    bulk = _bulk(view, "top_pairs")
    if bulk is not None:
        return bulk.top_pairs(tenant, surface, n, now_ms)
    return [(s.item_id, s.score) for s in view.top(tenant, surface, n, now_ms)]


def popularity_of(view: PopularityView, tenant: str, surface: str, ids: Iterable[str],
                  now_ms: int) -> dict[str, float]:
    """``{item: decayed score}`` (0.0 outside the top-K) for every id."""
    bulk = _bulk(view, "scores_of")
    if bulk is not None:
        return bulk.scores_of(tenant, surface, ids, now_ms)
    return {i: view.score(tenant, surface, i, now_ms) for i in ids}


def neighbour_pairs(view: CovisitationView, tenant: str, surface: str, anchor: str,
                    n: int) -> Sequence[tuple[str, float]]:
    """Up to ``n`` (neighbour, count) of an anchor, count desc then item_id asc."""
    bulk = _bulk(view, "neighbour_pairs")
    if bulk is not None:
        return bulk.neighbour_pairs(tenant, surface, anchor, n)
    return [(s.item_id, s.score) for s in view.neighbors(tenant, surface, anchor, n)]


def catalog_metas(view: CatalogView, tenant: str,
                  ids: Iterable[str]) -> dict[str, ItemMeta | None]:
    """``{item: metadata or None}``; a failing lookup raises (the caller falls back)."""
    bulk = _bulk(view, "metas")
    if bulk is not None:
        return bulk.metas(tenant, ids)
    get = view.get
    return {i: get(tenant, i) for i in ids}
