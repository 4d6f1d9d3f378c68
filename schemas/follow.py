"""How our tail-following consumers fetch.

``FETCH_MAX_WAIT_MS`` is how long a fetch may wait at the broker for new records. Kafka
answers a fetch as soon as ``fetch_min_bytes`` have arrived, so there the wait only
bounds idle polling; the embedded broker (Tansu) holds every fetch that finds nothing
new for the whole wait, measured: a record produced to an idle partition reached a
consumer after 420 ms (p50, at 1,500 ms, Faust's hard-coded value), 106 ms at 500 ms
(aiokafka's default) and 6 ms at 100 ms. Every hop of the pipeline (worker input, view
and live-view readers, config reader) paid that, so the default is 100 ms; it is
``Settings.fetch_max_wait_ms`` (``RECSYS_FETCH_MAX_WAIT_MS``).
"""

FETCH_MAX_WAIT_MS = 100
