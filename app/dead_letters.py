"""``recsys dead-letters``: what the workers dead-lettered, and why.

Reads ``recsys.deadletter.v1`` to its end (``schemas.topic_read``) and writes one JSON
document per record (``streams.deadletter.listing``: source topic, partition, offset,
schema, reason, key and value) to stdout, oldest first (broker timestamp), then a count
per source topic and reason on stderr.
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import TextIO

import orjson

from schemas import topics
from schemas.topic_read import read_to_end
from streams.deadletter import listing


async def dead_letters(bootstrap: str, *, limit: int | None = None,
                       out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print the dead letters (the newest ``limit`` when given) to ``out`` (stdout) and
    the counts to ``err`` (stderr); returns how many were printed."""
    out, err = out or sys.stdout, err or sys.stderr
    records = await read_to_end(bootstrap, topics.DEADLETTER, client_id="recsys-dead-letters")
    records.sort(key=lambda r: (r.timestamp, r.partition, r.offset))
    shown = records[-limit:] if limit is not None else records
    tally: Counter[tuple[str, str]] = Counter()
    for r in shown:
        doc = listing(r.key, r.value, r.headers)
        tally[(str(doc["topic"]), str(doc["reason"])[:80])] += 1
        out.write(orjson.dumps(doc).decode() + "\n")
    print(f"recsys dead-letters: {len(shown)} of {len(records)} records in "
          f"{topics.DEADLETTER}", file=err)
    for (topic, reason), n in tally.most_common():
        print(f"  {n:>6}  {topic}: {reason}", file=err)
    return len(shown)
