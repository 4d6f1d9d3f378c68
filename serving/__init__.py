"""HTTP serving: aiohttp app, ranking, views read from Kafka."""
