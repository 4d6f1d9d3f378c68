import gc
from pathlib import Path

import pytest

from app.settings import load_settings
from schemas.errors import ConfigError


def test_defaults_start_the_embedded_broker():
    s = load_settings({})
    assert s.embedded_broker and s.bootstrap == "127.0.0.1:9092"
    assert (s.http_port, s.partitions, s.half_life_days, s.data_dir) == (8080, 8, 7.0, Path("var"))
    assert (s.session_timeout_s, s.heartbeat_interval_s) == (2.0, 0.5)
    assert s.gc_refreeze_s == 60.0
    assert load_settings({"RECSYS_GC_REFREEZE_S": "0"}).gc_refreeze_s == 0.0  # once only
    assert s.gc_gen0 == 50_000
    assert load_settings({"RECSYS_GC_GEN0": "0"}).gc_gen0 == 0  # Python's own


def test_env_overrides_and_bootstrap_aliases():
    s = load_settings(
        {
            "RECSYS_KAFKA_BOOTSTRAP": "k1:9092,k2:9092",
            "RECSYS_HTTP_PORT": "9000",
            "RECSYS_PARTITIONS": "12",
            "RECSYS_HALF_LIFE_DAYS": "1.5",
        }
    )
    assert not s.embedded_broker and s.bootstrap == "k1:9092,k2:9092"
    assert (s.http_port, s.partitions, s.half_life_days) == (9000, 12, 1.5)
    assert load_settings({"KAFKA_BOOTSTRAP_SERVERS": "k:1"}).bootstrap == "k:1"


def test_secrets_are_masked_when_printed():
    s = load_settings({"RECSYS_USER_ID_SALT": "pepper", "RECSYS_API_KEY_SECRET": "hunter2"})
    assert s.user_id_salt == "pepper"
    shown = str(s) + repr(s) + str(s.masked())
    assert "pepper" not in shown and "hunter2" not in shown
    assert s.masked()["user_id_salt"] == "***"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RECSYS_HTTP_PORT": "eighty"}, r"RECSYS_HTTP_PORT='eighty' is not an integer"),
        ({"RECSYS_PARTITIONS": "0"}, r"RECSYS_PARTITIONS=0 must be >= 1"),
        ({"RECSYS_HTTP_PORT": "99999"}, r"RECSYS_HTTP_PORT=99999 must be <= 65535"),
        ({"RECSYS_HTTP_PORT": "-1"}, r"RECSYS_HTTP_PORT=-1 must be >= 0"),
        ({"RECSYS_KAFKA_PORT": "0"}, r"RECSYS_KAFKA_PORT=0 must be >= 1"),
        ({"RECSYS_KAFKA_PORT": "65536"}, r"RECSYS_KAFKA_PORT=65536 must be <= 65535"),
        ({"RECSYS_HALF_LIFE_DAYS": "-1"}, r"must be > 0"),
        ({"RECSYS_STORE": "redis://"}, r"memory:// or rocksdb://"),
        ({"RECSYS_GC_REFREEZE_S": "hourly"}, r"RECSYS_GC_REFREEZE_S='hourly' is not a number"),
        ({"RECSYS_GC_GEN0": "-5"}, r"RECSYS_GC_GEN0=-5 must be >= 0"),
        ({"RECSYS_LOG_LEVEL": "verbose"},
         r"RECSYS_LOG_LEVEL='verbose': use one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ({"RECSYS_DELIVERY_TIMEOUT_S": "0"}, r"RECSYS_DELIVERY_TIMEOUT_S=0.0 must be > 0"),
    ],
)
def test_bad_settings_name_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(env)


def test_log_levels_are_case_insensitive():
    assert load_settings({"RECSYS_LOG_LEVEL": "debug"}).log_level == "DEBUG"
    assert load_settings({}).log_level == "INFO"


def test_settings_read_the_key_file_path(tmp_path: Path):
    s = load_settings({"RECSYS_API_KEYS_FILE": str(tmp_path / "k.json")})
    assert s.api_keys_file == tmp_path / "k.json"
    assert load_settings({}).api_keys_file is None
    assert s.masked()["api_keys_file"] == str(tmp_path / "k.json")  # a path, not a secret


def test_a_worker_s_collector_threshold_sets_the_young_generation_only():
    from app.faust_app import tune_gc

    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 11, 12)
        tune_gc(0)
        assert gc.get_threshold() == (700, 11, 12)
        tune_gc(50_000)
        assert gc.get_threshold() == (50_000, 11, 12)
    finally:
        gc.set_threshold(*before)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://u:pw@reg:8081", "http://u:***@reg:8081"),
        ("https://svc:p%40ss:w@reg.example/sr/v1", "https://svc:***@reg.example/sr/v1"),
        ("http://token@reg:8081", "http://token@reg:8081"),  # no password in it
        ("http://reg:8081/path@x", "http://reg:8081/path@x"),  # '@' in the path only
        ("http://reg:8081", "http://reg:8081"),
    ],
)
def test_passwords_in_urls_are_masked_when_printed(url, shown):
    s = load_settings({"RECSYS_SCHEMA_REGISTRY_URL": url})
    assert s.schema_registry_url == url  # the value used is untouched
    assert s.masked()["schema_registry_url"] == shown
    if shown != url:
        assert url not in str(s) and url not in repr(s)
