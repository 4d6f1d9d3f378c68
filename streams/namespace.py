"""Namespace of an event: the (tenant, surface) it counts under.

Rule (documented in docs/streams.md): tenant = context ``tenant`` else ``tenant_id``
else ``default``; surface = context ``surface`` else ``default``. The shared tiny dataset
uses ``tenant``; the original service writes ``tenant_id``; both are accepted.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT = "default"


def tenant_of(context: Mapping[str, str] | None) -> str:
    if not context:
        return DEFAULT
    return context.get("tenant") or context.get("tenant_id") or DEFAULT


def surface_of(context: Mapping[str, str] | None) -> str:
    if not context:
        return DEFAULT
    return context.get("surface") or DEFAULT
