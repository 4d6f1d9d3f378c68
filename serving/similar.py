"""``POST /v1/similar`` (spec §5.9): co-visitation neighbours of one item.

Body ``{surface, segment?, item_id, k?, constraints?, options?}`` decoded strictly like
recommend. Scores are the raw co-visitation counts; unavailable items go. Unlike the
original, which accepted ``constraints`` and ignored them, required/forbidden tags are
applied here (with backfill from the remaining neighbours).
"""

from __future__ import annotations

from dataclasses import dataclass

from serving import fields as f
from serving.engine.model import RankedItem
from serving.engine.warnings import ServingWarning
from serving.request import MAX_TAGS, parse_k, parse_segment, parse_surface
from serving.views import CatalogView, CovisitationView

TOP = frozenset({"surface", "segment", "item_id", "k", "constraints", "options"})
CONSTRAINTS = frozenset({"required_tags", "forbidden_tags"})
OPTIONS = frozenset({"include_reasons"})
FETCH = 200


@dataclass(frozen=True, slots=True)
class SimilarRequest:
    surface: str
    segment: str
    item_id: str
    k: int
    required_tags: tuple[str, ...] = ()
    forbidden_tags: tuple[str, ...] = ()
    include_reasons: bool = False
    warnings: tuple[ServingWarning, ...] = ()


def parse_similar(body: bytes) -> SimilarRequest:
    doc = f.load_object(body)
    f.reject_unknown(doc, TOP, "")
    warnings: list[ServingWarning] = []
    surface = parse_surface(doc)
    segment = parse_segment(doc, warnings)
    item_id = f.opt_str(doc, "item_id", "")
    if item_id is None:
        raise f.unprocessable("item_id is required (a non-empty string)")
    k = parse_k(doc, warnings)
    constraints = f.obj(doc, "constraints", "", CONSTRAINTS)
    options = f.obj(doc, "options", "", OPTIONS)
    return SimilarRequest(
        surface, segment, item_id, k,
        f.str_list(constraints, "required_tags", "constraints.", MAX_TAGS, lower=True),
        f.str_list(constraints, "forbidden_tags", "constraints.", MAX_TAGS, lower=True),
        f.opt_bool(options, "include_reasons", "options.", False),
        tuple(warnings),
    )


def similar(req: SimilarRequest, tenant: str, covisitation: CovisitationView | None,
            catalog: CatalogView) -> tuple[list[RankedItem], list[ServingWarning]]:
    if covisitation is None:
        return [], [ServingWarning("SIGNAL_UNAVAILABLE", "similarity signals unavailable")]
    try:
        neighbours = covisitation.neighbors(tenant, req.surface, req.item_id, FETCH)
    except Exception as exc:
        return [], [ServingWarning("SIGNAL_UNAVAILABLE",
                                   f"similarity signals unavailable: {exc}")]
    required, forbidden = frozenset(req.required_tags), frozenset(req.forbidden_tags)
    out: list[RankedItem] = []
    warnings: list[ServingWarning] = []
    removed = 0
    for n in neighbours:
        if len(out) >= req.k:
            break
        if n.item_id == req.item_id:
            continue
        try:
            meta = catalog.get(tenant, n.item_id)
        except Exception as exc:
            warnings.append(ServingWarning("TAG_LOOKUP_FAILED",
                                           f"tag lookup failed, constraints skipped: {exc}"))
            required = forbidden = frozenset()
            meta = None
        if meta is not None and not meta.available:
            continue
        tags = meta.tags if meta is not None else frozenset()
        if (required and not tags & required) or tags & forbidden:
            removed += 1
            continue
        out.append(RankedItem(n.item_id, len(out) + 1, n.score,
                              reasons=("co_visitation",) if req.include_reasons else None))
    if removed:
        warnings.append(ServingWarning("CONSTRAINTS_FILTERED",
                                       f"{removed} items removed by tag constraints"))
    return out, warnings
