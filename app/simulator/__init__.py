"""Demo traffic simulator: users with hidden tastes who use the real HTTP API.

Pure parts — ``catalog`` (seeded items with category/brand tags and prices →
``item.v1``), ``population`` (users, position-biased click model, conversions,
sessions), ``traffic`` (request bodies, browsing, counters), ``arms`` (the A/B plan),
``offline`` (the same loop through the serving engine without HTTP or Kafka) — and one
I/O module, ``driver``.

Entry point for ``recsys up --demo``::

    summary = await run_simulator(
        settings,                  # app.settings.Settings: user_id_salt = assignment salt
        "http://127.0.0.1:8080",   # the serving app (recommend + admin API)
        producer,                  # a started EventProducer (salt=settings.user_id_salt)
        rate=20.0,                 # requests per second offered (open loop)
        seed=7,                    # same seed → same catalog, users and choices
        duration_s=300,            # and/or max_requests=...; at least one is required
        on_summary=lambda s: print(s.line()),  # every config.summary_every_s and at end
    )

It produces the catalog to ``recsys.items.v1`` (and flushes) first, PUTs the tenant
config (control arm) through the admin API, then sends visits at ``rate``: requests
with ``experiment.id = "demo-covis"`` (the server assigns A/B and logs exposures and
assignments) and ~20 % browse requests outside the experiment (``segment=browse``,
see ``traffic.Browsing``). Clicks and conversions go out as ``outcome.v1`` keyed by the
served request id. It stops after ``max_requests`` or ``duration_s``, waits for the
outcomes still pending, flushes and returns a ``SimulatorSummary``; cancelling the
task stops it cleanly (in-flight requests and pending outcomes are cancelled).

Options: ``config=SimulatorConfig(...)`` (tenant, sizes, k, click model, arms, delays),
``assignment_salt`` (default ``settings.user_id_salt`` or serve's development salt),
``api_key`` (else open mode with ``X-Org-Id``), ``session`` (an aiohttp session).

The producer's salt must be the server's exposure salt (``settings.user_id_salt``):
outcomes then carry the same pseudonymous user id as the exposures, which is what the
history view is keyed by. Serving's default rate limit (30 requests/s per tenant)
answers 429 above that rate; the summary counts them.
"""

from app.simulator.arms import ArmPlan, ArmSpec
from app.simulator.driver import OutcomeProducer, SimulatorConfig, run_simulator
from app.simulator.traffic import ArmCounters, SimulatorSummary

__all__ = [
    "ArmCounters",
    "ArmPlan",
    "ArmSpec",
    "OutcomeProducer",
    "SimulatorConfig",
    "SimulatorSummary",
    "run_simulator",
]
