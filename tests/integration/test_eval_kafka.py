"""recsys-eval reads what flowed through Kafka: the tiny dataset produced to the topics
gives the same experiment and offline numbers as the goldens (through the CLI)."""

from __future__ import annotations

import json
from pathlib import Path

from app.broker import EmbeddedBroker
from app.kafka_admin import ensure_topics
from app.produce import produce_file
from eval.cli import main
from schemas import topics
from schemas.registry import LocalRegistry
from tests.unit.eval.support import FIXED_CLOCK, FIXED_METADATA, FIXTURES, GOLDEN, assert_json_close


async def test_eval_over_kafka_topics_reproduces_the_goldens(
    fresh_broker: EmbeddedBroker, tiny_dir: Path, tmp_path: Path
) -> None:
    await ensure_topics(fresh_broker.bootstrap, 4)
    for alias in ("exposures", "outcomes", "assignments"):
        summary = await produce_file(
            str(tiny_dir / f"{alias}.jsonl"),
            alias,
            fresh_broker.bootstrap,
            registry=LocalRegistry(),
        )
        assert summary.rejected == [] and summary.failed == 0
    # A record that is not Avro is skipped by the reader (the worker dead-letters it).
    from aiokafka import AIOKafkaProducer

    raw = AIOKafkaProducer(bootstrap_servers=fresh_broker.bootstrap)
    await raw.start()
    await raw.send_and_wait(topics.OUTCOMES, key=b"junk", value=b"not avro")
    await raw.stop()

    boot = fresh_broker.bootstrap
    dataset = tmp_path / "dataset.yaml"
    dataset.write_text(
        "\n".join(
            f"{name}: {{type: kafka, bootstrap: '{boot}', topic: '{topic}'}}"
            for name, topic in (
                ("exposures", topics.EXPOSURES),
                ("outcomes", topics.OUTCOMES),
                ("assignments", topics.ASSIGNMENTS),
            )
        )
        + "\n"
    )

    for mode in ("experiment", "ope"):
        out = tmp_path / f"{mode}.json"
        code = main(
            [
                "run",
                "--dataset",
                str(dataset),
                "--config",
                str(FIXTURES / f"{mode}.golden.yaml"),
                "--output",
                str(out),
                "--fixed-clock",
                FIXED_CLOCK,
                "--fixed-metadata",
                FIXED_METADATA,
            ],
            env={},
        )
        assert code == 0
        assert_json_close(
            json.loads(out.read_text()), json.loads((GOLDEN / f"{mode}.json").read_text())
        )
