"""The demo experiment: arm ``A`` = popularity only, arm ``B`` = blend with co-visitation.

How the arms reach the ranking today, and why:

- **Assignment is the server's.** Requests carry ``experiment.id`` without a variant, so
  serving assigns 50/50 by ``HMAC(salt, id + ":" + user_id)`` (spec §4.9), writes the
  variant into the exposure context and produces an ``assignment.v1``. An id without a
  lifecycle definition is assigned over the default variants (A, B), which is what the
  demo wants; ``ArmPlan.experiment()`` is the explicit definition for
  ``ServingSettings.experiments`` if the caller prefers one.
- **The weights are not (yet).** Serving ranks every request with the tenant config's
  weights or the request's ``weights``; neither the tenant config (``weights, flags,
  limits, algo``) nor the experiment definition can say "variant B uses other weights",
  and the handler does not look at the arm when it ranks. Until it can, the simulator
  predicts the server's variant with the same HMAC (it knows the assignment salt: it
  runs next to the server) and sends that arm's ``weights`` in the request. It checks
  every response's ``meta.experiment.variant`` against the prediction and counts
  mismatches, so a wrong salt shows up in the summary instead of silently blurring the
  arms.
- The admin API sets the tenant's default config to the control arm's weights
  (``configure_tenant``), so a request outside the experiment ranks as ``A``.

When serving learns per-variant weights, ``request_weights`` becomes unnecessary and
``ArmPlan.tenant_config`` is where the variant overrides go.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from serving.engine.weights import Weights
from serving.experiments import Experiment, bucket_variant

EXPERIMENT_ID = "demo-covis"


@dataclass(frozen=True, slots=True)
class ArmSpec:
    variant: str
    weights: Weights
    description: str = ""

    def weights_json(self) -> dict[str, float]:
        return {"pop": self.weights.pop, "cooc": self.weights.cooc, "emb": self.weights.emb}


POPULARITY_ONLY = ArmSpec("A", Weights(1.0, 0.0, 0.0), "popularity only")
COVIS_BLEND = ArmSpec("B", Weights(0.3, 1.0, 0.0), "blend with co-visitation")


@dataclass(frozen=True, slots=True)
class ArmPlan:
    """The experiment and its arms; the first arm is the control (the tenant default)."""

    experiment_id: str = EXPERIMENT_ID
    arms: tuple[ArmSpec, ...] = (POPULARITY_ONLY, COVIS_BLEND)

    def __post_init__(self) -> None:
        variants = [a.variant for a in self.arms]
        if len(variants) < 2 or len(set(variants)) != len(variants):
            raise ValueError(f"need at least two distinct variants, got {variants}")

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(a.variant for a in self.arms)

    @property
    def control(self) -> ArmSpec:
        return self.arms[0]

    def arm(self, variant: str) -> ArmSpec:
        for arm in self.arms:
            if arm.variant == variant:
                return arm
        raise KeyError(f"unknown variant {variant!r}; known: {', '.join(self.variants)}")

    def experiment(self) -> Experiment:
        """The lifecycle definition for ``ServingSettings.experiments`` (equal split)."""
        return Experiment(self.experiment_id, self.variants)

    def predict_variant(self, user_id: str, salt: str) -> str:
        """The variant serving will assign to ``user_id`` (same HMAC as spec §4.9)."""
        return bucket_variant(self.experiment_id, user_id, salt, self.variants)

    def request_weights(self, variant: str) -> dict[str, float]:
        """The ``weights`` of a request in ``variant`` (the stop-gap described above)."""
        return self.arm(variant).weights_json()

    def tenant_config(self) -> dict[str, Any]:
        """The tenant config document: the control arm's weights, blend mode."""
        return {"weights": self.control.weights_json(), "algo": "blend"}


async def configure_tenant(http: aiohttp.ClientSession, base_url: str, tenant: str,
                           plan: ArmPlan, headers: dict[str, str]) -> str:
    """PUT the plan's tenant config through the admin API; returns its ``config_version``.

    Raises ``RuntimeError`` with the problem document when serving refuses it.
    """
    url = f"{base_url.rstrip('/')}/v1/admin/tenants/{tenant}/config"
    async with http.put(url, json=plan.tenant_config(), headers=headers) as resp:
        body = await resp.text()
        if resp.status != 200:
            raise RuntimeError(f"PUT {url} → {resp.status}: {body}")
        doc = await resp.json(content_type=None)
    return str(doc["config_version"])
