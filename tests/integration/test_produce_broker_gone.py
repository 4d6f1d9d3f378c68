"""`recsys produce` whose broker goes away mid-run: it ends, reports, and exits 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from app.broker import EmbeddedBroker
from app.kafka_admin import ensure_topics
from tests.integration.procs import ended, reap


async def test_produce_ends_within_its_delivery_timeout_when_the_broker_dies(
    fresh_broker: EmbeddedBroker, tmp_path: Path
):
    await ensure_topics(fresh_broker.bootstrap, 2)
    path = tmp_path / "many.jsonl"
    line = {"user_id": "u1", "ts": "2025-01-01T00:00:00Z", "items": [{"item_id": "i1", "rank": 1}],
            "context": {"tenant": "t1", "surface": "home"}}
    path.write_text("".join(json.dumps({**line, "request_id": f"r{n}"}) + "\n"
                            for n in range(300_000)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECSYS_", "KAFKA_"))}
    env["RECSYS_DELIVERY_TIMEOUT_S"] = "3"
    produce = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "produce", "--topic", "exposures", str(path),
         "--bootstrap", fresh_broker.bootstrap, "--no-progress"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        time.sleep(3)  # counted the lines, connected, sending
        assert produce.poll() is None, produce.communicate()
        fresh_broker.stop()
        out, err, took = ended(produce, 60)
    finally:
        reap(produce)
    assert produce.returncode == 1, err[-2000:]
    assert took < 15, f"took {took:.1f}s"  # 3 s timeout, plus flush and stop slack
    summary = out.splitlines()[0]
    assert "delivery failed" in summary
    assert "Traceback" not in err
