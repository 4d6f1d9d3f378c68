"""docker-compose.kafka.yml, checked by reading: no Docker engine runs in our CI.

The file must describe the many-machine topology (3 KRaft nodes, a schema registry,
2 workers, 2 serving replicas behind one port) and configure the app only through the
RECSYS_* variables app/settings.py reads, with values it accepts.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.kafka.yml"
SETTINGS_SOURCE = ROOT / "app" / "settings.py"
KAFKA_NODES = ("kafka-1", "kafka-2", "kafka-3")
WORKERS = ("worker-1", "worker-2")
REPLICAS = ("serving-1", "serving-2")
APP_SERVICES = ("topic-init", *WORKERS, *REPLICAS)
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return doc


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = compose["services"]
    return result


def _env(service: dict[str, Any]) -> dict[str, str]:
    """The service's environment with ``${VAR:-default}`` replaced by its default."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: INTERPOLATION.sub(lambda m: m.group(2) or "", str(v)) for k, v in env.items()}


def _command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command", [])
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]


def _hosts(bootstrap: str) -> list[tuple[str, int]]:
    out = []
    for part in bootstrap.split(","):
        host, _, port = part.split("://")[-1].rpartition(":")
        out.append((host, int(port)))
    return out


def test_the_topology_is_all_there(services):
    assert set(services) >= {*KAFKA_NODES, "schema-registry", *APP_SERVICES, "proxy"}


def test_kafka_nodes_form_one_kraft_quorum(services):
    envs = [_env(services[name]) for name in KAFKA_NODES]
    assert len({e["CLUSTER_ID"] for e in envs}) == 1
    assert len({e["KAFKA_NODE_ID"] for e in envs}) == len(KAFKA_NODES)
    voters = {e["KAFKA_CONTROLLER_QUORUM_VOTERS"] for e in envs}
    assert len(voters) == 1
    pairs = zip(envs, KAFKA_NODES, strict=True)
    expected = {f"{e['KAFKA_NODE_ID']}@{name}:9093" for e, name in pairs}
    assert set(voters.pop().split(",")) == expected
    for name, env in zip(KAFKA_NODES, envs, strict=True):
        assert "controller" in env["KAFKA_PROCESS_ROLES"]
        assert "broker" in env["KAFKA_PROCESS_ROLES"]
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        assert "CONTROLLER://:9093" in env["KAFKA_LISTENERS"]
        assert services[name]["image"].startswith("apache/kafka:")
        assert "healthcheck" in services[name]
        assert int(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]) <= len(KAFKA_NODES)


def test_app_env_vars_are_the_ones_settings_reads(services):
    known = set(re.findall(r'"(RECSYS_[A-Z0-9_]+)"', SETTINGS_SOURCE.read_text()))
    assert known, "no RECSYS_* names found in app/settings.py"
    for name in APP_SERVICES:
        env = _env(services[name])
        unknown = {k for k in env if k.startswith("RECSYS_")} - known
        assert not unknown, f"{name}: app/settings.py does not read {sorted(unknown)}"
        assert not {k for k in env if not k.startswith("RECSYS_")}, name


def test_every_app_process_gets_the_same_valid_settings(services):
    envs = [_env(services[name]) for name in APP_SERVICES]
    assert all(env == envs[0] for env in envs), "workers and replicas must share one env"
    settings = load_settings(envs[0])  # raises ConfigError on a value it rejects
    assert not settings.embedded_broker
    assert {host for host, _ in _hosts(settings.bootstrap)} == set(KAFKA_NODES)
    assert settings.replication_factor <= len(KAFKA_NODES)
    assert settings.partitions >= len(WORKERS), "a worker beyond #partitions idles"
    # a real broker refuses session timeouts under group.min.session.timeout.ms (6 s)
    assert settings.session_timeout_s >= 6
    assert settings.heartbeat_interval_s < settings.session_timeout_s / 2
    assert settings.user_id_salt
    assert settings.http_host == "0.0.0.0"  # noqa: S104 - inside the container network


def test_schema_registry_url_points_at_the_registry_service(services):
    settings = load_settings(_env(services["worker-1"]))
    assert settings.schema_registry_url is not None
    registry = _env(services["schema-registry"])
    host, port = _hosts(settings.schema_registry_url.removeprefix("http://"))[0]
    assert host == "schema-registry"
    assert registry["SCHEMA_REGISTRY_LISTENERS"].endswith(f":{port}")
    store = registry["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"]
    assert {h for h, _ in _hosts(store)} <= set(KAFKA_NODES)


def test_workers_and_replicas_run_the_cli_commands(services):
    for name in WORKERS:
        assert _command(services[name]) == ["recsys", "worker"]
    for name in REPLICAS:
        assert _command(services[name]) == ["recsys", "serve"]
        assert "healthcheck" in services[name]
    # each worker keeps its own local state
    volumes = [services[name]["volumes"][0].split(":")[0] for name in WORKERS]
    assert len(set(volumes)) == len(WORKERS)


def test_topic_init_creates_the_topics_with_the_settings(services):
    script = " ".join(_command(services["topic-init"]))
    assert "ensure_topics" in script and "load_settings" in script
    assert services["topic-init"]["restart"] == "no"


def test_depends_on_names_existing_services_and_orders_startup(services):
    for name, service in services.items():
        for dependency in service.get("depends_on") or {}:
            assert dependency in services, f"{name} depends on unknown {dependency}"
    for name in (*WORKERS, *REPLICAS):
        deps = services[name]["depends_on"]
        assert deps["topic-init"]["condition"] == "service_completed_successfully"
        assert "schema-registry" in deps
    for node in KAFKA_NODES:
        assert services["topic-init"]["depends_on"][node]["condition"] == "service_healthy"
    assert set(services["proxy"]["depends_on"]) == set(REPLICAS)


def test_only_the_proxy_publishes_a_port_and_it_balances_every_replica(services):
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"proxy"}
    assert services["proxy"]["ports"] == ["127.0.0.1:8080:8080"]
    source, target, *_ = services["proxy"]["volumes"][0].split(":")
    config = (ROOT / source).read_text(encoding="utf-8")
    assert target == "/etc/nginx/nginx.conf"
    port = load_settings(_env(services["serving-1"])).http_port
    upstreams = set(re.findall(r"^\s*server\s+([\w.-]+:\d+)", config, flags=re.M))
    assert upstreams == {f"{name}:{port}" for name in REPLICAS}
    assert re.search(r"^\s*listen\s+8080;", config, flags=re.M)
    assert "proxy_buffering off" in config  # the live SSE stream


def test_the_image_is_built_from_files_that_exist(services):
    build = services["worker-1"]["build"]
    dockerfile = ROOT / build["context"] / build["dockerfile"]
    copied = re.findall(r"^COPY\s+(.+?)\s+\S+$", dockerfile.read_text(), flags=re.M)
    sources = [s for line in copied for s in line.split()]
    assert "pyproject.toml" in sources
    for source in sources:
        assert (ROOT / build["context"] / source).exists(), source
    images = {services[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1


def test_named_volumes_are_declared(compose, services):
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: volume {source} not declared"
