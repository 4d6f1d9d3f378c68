"""Per-tenant state the request path needs: parsed config and rules, memoised by ETag.

The store's ``current`` is an in-memory read; parsing happens once per version, so a
write on any replica takes effect on the next request (no TTL to wait out).
Invalidation drops the parsed entries of a tenant (the admin ``cache/invalidate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from serving.config_store import ConfigStore
from serving.engine.rules import Rule
from serving.rules_doc import parse_rules
from serving.tenant_config import TenantConfig, parse_config


@dataclass(frozen=True, slots=True)
class TenantState:
    config: TenantConfig
    config_version: str
    rules: tuple[Rule, ...]
    rules_version: str


_DEFAULT_CONFIG = TenantConfig()
_NO_DOCUMENTS = TenantState(_DEFAULT_CONFIG, "", (), "")


class TenantCache:
    def __init__(self, store: ConfigStore) -> None:
        self.store = store
        self._configs: dict[tuple[str, str], TenantConfig] = {}
        self._rules: dict[tuple[str, str], tuple[Rule, ...]] = {}
        # the last state handed out per tenant with a stored document, reused while both
        # versions are the same (as bounded as the stored tenants)
        self._states: dict[str, TenantState] = {}

    def state(self, tenant: str) -> TenantState:
        cfg_version = self.store.current(tenant, "config")
        rules_version = self.store.current(tenant, "rules")
        if cfg_version is None and rules_version is None:
            # one shared state: a tenant name nobody stored anything for (in open mode
            # any header names one) must not grow the cache
            return _NO_DOCUMENTS
        last = self._states.get(tenant)
        if (last is not None
                and last.config_version == (cfg_version.etag if cfg_version else "")
                and last.rules_version == (rules_version.etag if rules_version else "")):
            return last
        config, cfg_etag = _DEFAULT_CONFIG, ""
        if cfg_version is not None:
            cfg_etag = cfg_version.etag
            key = (tenant, cfg_etag)
            if key not in self._configs:
                self._configs[key] = parse_config(cfg_version.document)
            config = self._configs[key]
        rules: tuple[Rule, ...] = ()
        rules_etag = ""
        if rules_version is not None:
            rules_etag = rules_version.etag
            key = (tenant, rules_etag)
            if key not in self._rules:
                self._rules[key] = parse_rules(rules_version.document, tenant)
            rules = self._rules[key]
        state = self._states[tenant] = TenantState(config, cfg_etag, rules, rules_etag)
        return state

    def invalidate(self, tenant: str, target: str) -> int:
        """Drop the parsed ``config`` or ``rules`` of a tenant; the number dropped."""
        self._states.pop(tenant, None)
        if target == "config":
            return _drop(self._configs, tenant)
        return _drop(self._rules, tenant)


def _drop(cache: dict[tuple[str, str], Any], tenant: str) -> int:
    keys = [k for k in cache if k[0] == tenant]
    for k in keys:
        del cache[k]
    return len(keys)
