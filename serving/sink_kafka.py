"""``KafkaEventSink``: the ``QueueSink`` over an ``EventProducer`` it starts and stops.

The producer must be built **without** a salt: exposures and assignments leave
serving with pseudonymous user ids already (``serving.exposure``), and a salted
producer would hash them a second time, breaking joins with outcomes.
"""

from __future__ import annotations

from schemas.errors import ConfigError
from schemas.producer import EventProducer
from serving.sink import QueueSink


class KafkaEventSink(QueueSink):
    def __init__(self, producer: EventProducer, maxsize: int = 10_000) -> None:
        if producer.pseudonymizes:
            raise ConfigError("KafkaEventSink needs an EventProducer built without a salt: "
                              "serving already pseudonymizes user ids")
        super().__init__(producer, maxsize)
        self.producer = producer

    async def start(self) -> None:
        await self.producer.start()
        await super().start()

    async def stop(self) -> None:
        try:
            await super().stop()  # drains the queue and flushes
        finally:
            await self.producer.stop()
