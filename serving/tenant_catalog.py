"""The catalog a replica holds: ``(tenant, item_id) → ItemMeta``, stored per tenant.

It is a mapping keyed by ``(tenant, item_id)`` pairs, as the view reader and the tests
use it, but each tenant's items live in a dict of their own keyed by the item id. A
ranking looks every candidate up in one tenant (``of_tenant``; 80 per request in
``bench/serving.py``): a plain string key, whose hash the string caches, instead of a
new tuple to build and hash per lookup, which halves the cost of the lookups.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping

from serving.views import ItemMeta

_EMPTY: Mapping[str, ItemMeta] = {}


class TenantCatalog(MutableMapping[tuple[str, str], ItemMeta]):
    __slots__ = ("_tenants",)

    def __init__(self) -> None:
        self._tenants: dict[str, dict[str, ItemMeta]] = {}

    def of_tenant(self, tenant: str) -> Mapping[str, ItemMeta]:
        """The tenant's items by id (read-only by contract; empty for an unknown tenant)."""
        return self._tenants.get(tenant, _EMPTY)

    def __getitem__(self, key: tuple[str, str]) -> ItemMeta:
        return self._tenants[key[0]][key[1]]

    def get(  # type: ignore[override]  # one key type, no generic default
            self, key: tuple[str, str], default: ItemMeta | None = None) -> ItemMeta | None:
        return self._tenants.get(key[0], _EMPTY).get(key[1], default)

    def __setitem__(self, key: tuple[str, str], meta: ItemMeta) -> None:
        self._tenants.setdefault(key[0], {})[key[1]] = meta

    def __delitem__(self, key: tuple[str, str]) -> None:
        tenant, item = key
        items = self._tenants[tenant]
        del items[item]
        if not items:
            del self._tenants[tenant]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for tenant, items in list(self._tenants.items()):
            for item in list(items):
                yield tenant, item

    def __len__(self) -> int:
        return sum(len(items) for items in self._tenants.values())

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 2:
            return False
        return key[1] in self._tenants.get(key[0], _EMPTY)

    def tenants_with(self, item_id: str) -> list[str]:
        """The tenants whose catalog holds ``item_id``."""
        return [t for t, items in self._tenants.items() if item_id in items]
