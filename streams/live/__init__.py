"""The live join: exposures, outcomes and assignments joined per request_id, tallied per
namespace and experiment variant with the offline evaluator's definitions.

Pure core (no Kafka): ``request`` (one request's state and reducers), ``tally``
(additive, mergeable counters), ``partition`` (a worker's partitions: table updates,
releases, expiry, recovery), ``twin`` (batch twin), ``joined`` (joined.v1 records).
The Faust wiring is ``streams.live_agents``; the read side ``serving.live_reader``.
"""
