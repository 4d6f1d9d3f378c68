"""Typed settings: one frozen object built once from ``RECSYS_*`` environment variables.

Nothing else in the project reads ``os.environ``; the object is passed down explicitly.
Secrets are masked when the settings are printed.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from schemas.errors import ConfigError
from schemas.follow import FETCH_MAX_WAIT_MS

SECRET_FIELDS = frozenset({"user_id_salt", "api_key_secret"})


def mask_url_password(value: str) -> str:
    """``value`` with the password of each URL's userinfo replaced by ``***``
    (``http://u:pw@reg:8081`` → ``http://u:***@reg:8081``); anything else unchanged.
    Comma-separated lists (bootstrap servers) are masked item by item."""
    return ",".join(_mask_one(part) for part in value.split(","))


def _mask_one(value: str) -> str:
    scheme, sep, rest = value.partition("://")
    if not sep:
        return value
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not at or ":" not in userinfo:
        return value
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}{slash}{path}"


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one RecSys Stream process."""

    kafka_bootstrap: str | None = None
    """Bootstrap servers of a real cluster; ``None`` starts the embedded broker."""
    kafka_port: int = 9092
    """Loopback port of the embedded broker (only when ``kafka_bootstrap`` is unset)."""
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    partitions: int = 8
    """Partition count of the input topics (exposures, outcomes, assignments share it)."""
    replication_factor: int = 1
    half_life_days: float = 7.0
    grace_s: float = 300.0
    """Event time an outcome waits for its exposure before counting under ``default``."""
    grace_wall_s: float = 300.0
    """Wall-clock limit of that wait (an idle partition still releases)."""
    data_dir: Path = Path("var")
    """Where the Faust worker keeps its local state (``<data_dir>/<app_id>-data``)."""
    store: str = "memory://"
    """Faust table store: ``memory://`` or ``rocksdb://``."""
    app_id: str = "recsys-stream"
    schema_registry_url: str | None = None
    user_id_salt: str | None = field(default=None, repr=False)
    """HMAC-SHA256 key used to pseudonymize user ids before they leave the process."""
    api_key_secret: str | None = field(default=None, repr=False)
    """HMAC-SHA256 key of the stored API-key hashes (required with ``api_keys_file``)."""
    api_keys_file: Path | None = None
    """JSON file of stored API keys (``recsys keys``); unset → open development mode."""
    session_timeout_s: float = 2.0
    """Faust/aiokafka session timeout; the embedded broker waits half of it on a group join."""
    heartbeat_interval_s: float = 0.5
    fetch_max_wait_ms: int = FETCH_MAX_WAIT_MS
    """How long a consumer's fetch may wait at the broker (``schemas.follow``)."""
    gc_refreeze_s: float = 60.0
    """``recsys serve`` re-freezes its heap at this interval (``serving.loop``); 0: once."""
    gc_gen0: int = 50_000
    """A stream worker's young-generation collection threshold (Python's is 700); 0 keeps
    Python's (``app.faust_app.tune_gc``)."""
    delivery_timeout_s: float = 30.0
    """``recsys produce``/``replay``: a record not acknowledged by Kafka in this time fails."""
    log_level: str = "INFO"

    def masked(self) -> dict[str, str]:
        """The settings as printable strings, secrets replaced by ``***``."""
        out: dict[str, str] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS and value:
                out[f.name] = "***"
            else:
                out[f.name] = "" if value is None else mask_url_password(str(value))
        return out

    def __str__(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.masked().items())

    def __repr__(self) -> str:  # masked too: settings end up in logs and tracebacks
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in self.masked().items()) + ")"

    @property
    def bootstrap(self) -> str:
        """The bootstrap servers in use: the configured cluster or the embedded broker."""
        return self.kafka_bootstrap or f"127.0.0.1:{self.kafka_port}"

    @property
    def embedded_broker(self) -> bool:
        return self.kafka_bootstrap is None

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


MAX_PORT = 65_535


def _int(
    env: Mapping[str, str], name: str, default: int, *, minimum: int = 0,
    maximum: int | None = None,
) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not an integer") from exc
    if value < minimum:
        raise ConfigError(f"{name}={value} must be >= {minimum}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name}={value} must be <= {maximum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, *, positive: bool = True) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a number") from exc
    if positive and not value > 0:
        raise ConfigError(f"{name}={value} must be > 0")
    return value


def _str(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name)
    return raw if raw else None


def _path(env: Mapping[str, str], name: str) -> Path | None:
    raw = _str(env, name)
    return Path(raw) if raw is not None else None


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(env: Mapping[str, str]) -> str:
    raw = env.get("RECSYS_LOG_LEVEL") or "INFO"
    if raw.upper() not in LOG_LEVELS:
        raise ConfigError(f"RECSYS_LOG_LEVEL={raw!r}: use one of {', '.join(LOG_LEVELS)}")
    return raw.upper()


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    bootstrap = _str(env, "RECSYS_KAFKA_BOOTSTRAP") or _str(env, "KAFKA_BOOTSTRAP_SERVERS")
    store = env.get("RECSYS_STORE", "memory://")
    if store.split("://")[0] not in {"memory", "rocksdb"}:
        raise ConfigError(f"RECSYS_STORE={store!r}: use memory:// or rocksdb://")
    return Settings(
        kafka_bootstrap=bootstrap,
        kafka_port=_int(env, "RECSYS_KAFKA_PORT", 9092, minimum=1, maximum=MAX_PORT),
        http_host=env.get("RECSYS_HTTP_HOST", "127.0.0.1"),
        # 0: any free port (the banner says which)
        http_port=_int(env, "RECSYS_HTTP_PORT", 8080, minimum=0, maximum=MAX_PORT),
        partitions=_int(env, "RECSYS_PARTITIONS", 8, minimum=1),
        replication_factor=_int(env, "RECSYS_REPLICATION_FACTOR", 1, minimum=1),
        half_life_days=_float(env, "RECSYS_HALF_LIFE_DAYS", 7.0),
        grace_s=_float(env, "RECSYS_GRACE_S", 300.0),
        grace_wall_s=_float(env, "RECSYS_GRACE_WALL_S", 300.0),
        data_dir=Path(env.get("RECSYS_DATA_DIR", "var")),
        store=store,
        app_id=env.get("RECSYS_APP_ID", "recsys-stream"),
        schema_registry_url=_str(env, "RECSYS_SCHEMA_REGISTRY_URL"),
        user_id_salt=_str(env, "RECSYS_USER_ID_SALT"),
        api_key_secret=_str(env, "RECSYS_API_KEY_SECRET"),
        api_keys_file=_path(env, "RECSYS_API_KEYS_FILE"),
        session_timeout_s=_float(env, "RECSYS_SESSION_TIMEOUT_S", 2.0),
        heartbeat_interval_s=_float(env, "RECSYS_HEARTBEAT_INTERVAL_S", 0.5),
        fetch_max_wait_ms=_int(env, "RECSYS_FETCH_MAX_WAIT_MS", FETCH_MAX_WAIT_MS, minimum=0),
        gc_refreeze_s=_float(env, "RECSYS_GC_REFREEZE_S", 60.0, positive=False),
        gc_gen0=_int(env, "RECSYS_GC_GEN0", 50_000, minimum=0),
        delivery_timeout_s=_float(env, "RECSYS_DELIVERY_TIMEOUT_S", 30.0),
        log_level=_log_level(env),
    )
