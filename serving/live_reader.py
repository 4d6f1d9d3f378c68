"""``LiveReader``: the live join's per-partition tallies, merged into the live documents.

The stream worker publishes each partition's tally to the compacted topic
``recsys.views.live.v1`` (key = partition number; value = JSON, format in
``docs/live.md``). Counters are additive, so the reader keeps the latest snapshot per
partition and sums them. The documents then apply the offline definitions, reusing
``eval``'s pure statistics (variant rates, z-tests with one correction over global and
segment tests, SRM, guardrail p95, per-request CTR), so after a full replay they equal
``recsys-eval run --mode experiment`` on the same events.

The live view carries neither ``dead_letters`` nor ``lag_records``: the overview takes
them from a ``StreamGauges`` (``serving.kafka_gauges.KafkaGauges`` reads them from the
broker); a reader built without one reports 0 for both.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from eval.config import EvalConfig, ExperimentConfig
from eval.config_normalize import normalize
from eval.experiment import (
    GuardrailResult,
    VariantStats,
    choose_control,
    significance,
)
from eval.report import sections
from eval.request_ctr import request_ctr
from eval.stats.srm import SRMResult, srm_test
from schemas import topics
from schemas.errors import BrokerError
from schemas.follow import FETCH_MAX_WAIT_MS
from schemas.highwater import fetch_highwaters
from serving.tasks import cancel_and_wait

log = logging.getLogger(__name__)
Key = tuple[Any, ...]
Number = int | Fraction
NS_FIELDS = ("exp", "req", "jreq", "out", "jout", "orph", "dup", "empty", "err")


def default_experiment_config() -> ExperimentConfig:
    """The offline defaults (fdr_bh at 0.05, SRM alpha 0.001 / min sample 100, [ctr])."""
    return normalize(EvalConfig(), mode_override="experiment", source="live").experiment


# -- merged snapshots (pure) --------------------------------------------------------------


@dataclasses.dataclass
class Merged:
    """The sum of the partitions' tallies."""

    counts: dict[Key, Number] = dataclasses.field(default_factory=dict)
    lo: dict[Key, int] = dataclasses.field(default_factory=dict)
    hi: dict[Key, int] = dataclasses.field(default_factory=dict)
    as_of_ms: int = 0


def _num(raw: int | str | float) -> Number:
    if isinstance(raw, str):
        value = Fraction(raw)
        return value.numerator if value.denominator == 1 else value
    return int(raw) if isinstance(raw, int) else Fraction(raw)


def merge_snapshots(snapshots: Iterable[Mapping[str, Any]]) -> Merged:
    """Sum partition snapshots (``{"as_of_ms", "tally": {"counts", "lo", "hi"}}``)."""
    m = Merged()
    for snap in snapshots:
        m.as_of_ms = max(m.as_of_ms, int(snap.get("as_of_ms", 0)))
        tally = snap.get("tally", {})
        for e in tally.get("counts", ()):
            key = tuple(e[:-1])
            m.counts[key] = m.counts.get(key, 0) + _num(e[-1])
        for e in tally.get("lo", ()):
            key, t = tuple(e[:-1]), int(e[-1])
            m.lo[key] = min(m.lo.get(key, t), t)
        for e in tally.get("hi", ()):
            key, t = tuple(e[:-1]), int(e[-1])
            m.hi[key] = max(m.hi.get(key, t), t)
    return m


def _ratio(n: Number, d: Number) -> float:
    return float(Fraction(n) / Fraction(d)) if d else 0.0


def _p95(hist: Mapping[float, Number]) -> float:
    """sorted(latencies)[int((n − 1)·0.95)], the offline lower nearest rank; 0 if none."""
    n = int(sum(hist.values()))
    if n == 0:
        return 0.0
    rank = int((n - 1) * 0.95)
    seen = 0
    for value in sorted(hist):
        seen += int(hist[value])
        if seen > rank:
            return float(value)
    return 0.0


def _namespace(c: Mapping[str, Number], hist: Mapping[float, Number]) -> dict[str, Any]:
    return {
        "exposures": int(c.get("exp", 0)),
        "outcomes": int(c.get("out", 0)),
        "exposure_join_rate": _ratio(c.get("jreq", 0), c.get("exp", 0)),
        "outcome_join_rate": _ratio(c.get("jout", 0), c.get("out", 0)),
        "orphans": int(c.get("orph", 0)),
        "duplicates": int(c.get("dup", 0)),
        "empty_list_rate": _ratio(c.get("empty", 0), c.get("req", 0)),
        "error_rate": _ratio(c.get("err", 0), c.get("req", 0)),
        "latency_p95_ms": _p95(hist),
    }


def overview(
    m: Merged, tenant: str | None = None, *, dead_letters: int = 0, lag_records: int = 0
) -> dict[str, Any]:
    """Join health per namespace and in total (see ``serving.live_source``); the dead
    letters and consumer lag are the stream's as a whole, given by the caller."""
    ns: dict[tuple[str, str], dict[str, Number]] = {}
    lat: dict[tuple[str, str], dict[float, Number]] = {}
    total: dict[str, Number] = {}
    total_lat: dict[float, Number] = {}
    experiments: set[str] = set()
    for key, n in m.counts.items():
        kind, t = key[0], key[1]
        if tenant is not None and t != tenant:
            continue
        if kind == "n":
            fields = ns.setdefault((t, key[2]), {})
            fields[key[3]] = fields.get(key[3], 0) + n
            total[key[3]] = total.get(key[3], 0) + n
        elif kind == "nl":
            hist = lat.setdefault((t, key[2]), {})
            hist[key[3]] = hist.get(key[3], 0) + n
            total_lat[key[3]] = total_lat.get(key[3], 0) + n
        else:
            experiments.add(key[2])
    return {
        "as_of_ms": m.as_of_ms,
        "totals": _namespace(total, total_lat),
        "namespaces": [
            {"tenant": t, "surface": s, **_namespace(ns[(t, s)], lat.get((t, s), {}))}
            for t, s in sorted(ns)
        ],
        "dead_letters": dead_letters,
        "lag_records": lag_records,
        "experiments": sorted(experiments),
    }


def experiment_ids(m: Merged, tenant: str | None = None) -> list[str]:
    return sorted(
        {k[2] for k in m.counts if k[0] in ("v", "a", "s") and (tenant is None or k[1] == tenant)}
    )


@dataclasses.dataclass
class _Acc:
    counts: dict[str, Number] = dataclasses.field(default_factory=dict)
    lo: int | None = None
    hi: int | None = None


def _stats(variant: str, acc: _Acc) -> VariantStats:
    c = acc.counts
    exposures = int(c.get("exp", 0))
    span = (acc.hi - acc.lo) / 1000 if acc.lo is not None and acc.hi is not None else 0.0
    return VariantStats(
        variant=variant,
        exposures=exposures,
        clicks=int(c.get("clk", 0)),
        conversions=int(c.get("cnv", 0)),
        revenue=float(Fraction(c.get("rev", 0))),
        throughput_rps=exposures / span if span > 0 else 0.0,
        clicked_requests=int(c.get("clkreq", 0)),
        converted_requests=int(c.get("cnvreq", 0)),
    )


def _rows(stats: Iterable[VariantStats], level: float) -> list[dict[str, Any]]:
    stats = list(stats)
    rates, _ = request_ctr(stats, "", level)
    out = []
    for s, r in zip(stats, rates, strict=True):
        row = sections.variant(s)
        row["per_request_ctr"] = r.estimate.value
        row["per_request_ctr_ci"] = [r.estimate.ci_lower, r.estimate.ci_upper]
        out.append(row)
    return out


def _srm_doc(
    cfg: ExperimentConfig, overall: SRMResult, segments: Mapping[str, SRMResult]
) -> dict[str, Any]:
    n = overall.sample_size
    doc = sections.srm(cfg.srm.alpha, cfg.srm.min_sample, overall, segments)
    doc.update(
        chi2=overall.chi2,
        p_value=overall.p_value,
        alarm=overall.detected,
        observed=dict(overall.observed),
        expected_share={v: (e / n if n else 0.0) for v, e in overall.expected.items()},
    )
    return doc


def experiment(
    m: Merged, experiment_id: str, cfg: ExperimentConfig, tenant: str | None = None
) -> dict[str, Any] | None:
    """The offline report's experiment section from the live tallies, plus srm,
    per-request CTR and by_surface; None when the experiment has no data."""
    exp = experiment_id.lower()
    scopes: dict[tuple[str, str], dict[str, _Acc]] = {}
    lat: dict[str, dict[float, Number]] = {}
    srm_counts: dict[str, dict[str, int]] = {}
    found = False
    for key, n in m.counts.items():
        if key[0] not in ("v", "vl", "s", "a") or key[2] != exp:
            continue
        if tenant is not None and key[1] != tenant:
            continue
        found = True
        if key[0] == "v":
            _, _, _, scope, skey, variant, field = key
            acc = scopes.setdefault((scope, skey), {}).setdefault(variant, _Acc())
            acc.counts[field] = acc.counts.get(field, 0) + n
        elif key[0] == "vl":
            hist = lat.setdefault(key[3], {})
            hist[key[4]] = hist.get(key[4], 0) + n
        elif key[0] == "s":
            group = srm_counts.setdefault(key[3], {})
            group[key[4]] = group.get(key[4], 0) + int(n)
    if not found:
        return None
    for key, t in m.lo.items():
        if key[2] == exp and (tenant is None or key[1] == tenant):
            low = scopes.get((key[3], key[4]), {}).get(key[5])
            if low is not None:
                low.lo = t if low.lo is None else min(low.lo, t)
    for key, t in m.hi.items():
        if key[2] == exp and (tenant is None or key[1] == tenant):
            high = scopes.get((key[3], key[4]), {}).get(key[5])
            if high is not None:
                high.hi = t if high.hi is None else max(high.hi, t)

    def stats_of(scope: str, skey: str) -> tuple[VariantStats, ...]:
        accs = scopes.get((scope, skey), {})
        return tuple(_stats(v, accs[v]) for v in sorted(accs) if accs[v].counts.get("exp"))

    variants = stats_of("all", "")
    by_segment = {k: stats_of("seg", k) for _, k in sorted(s for s in scopes if s[0] == "seg")}
    by_surface = {k: stats_of("surf", k) for _, k in sorted(s for s in scopes if s[0] == "surf")}
    control = choose_control(variants, cfg.control_variant)
    tests = significance(
        variants,
        by_segment,
        control=control,
        primary_metrics=cfg.primary_metrics,
        method=cfg.multiple_comparisons.method,
        alpha=cfg.multiple_comparisons.alpha,
    )
    level = cfg.request_ctr.ci_level
    g = cfg.guardrails
    all_accs = scopes.get(("all", ""), {})
    guards = []
    for v in variants:
        c = all_accs[v.variant].counts
        p95 = _p95(lat.get(v.variant, {}))
        error_rate = _ratio(c.get("err", 0), v.exposures)
        empty_rate = _ratio(c.get("empty", 0), v.exposures)
        guards.append(
            GuardrailResult(
                variant=v.variant,
                latency_p95_ms=p95,
                error_rate=error_rate,
                empty_rate=empty_rate,
                pass_latency=g.max_latency_p95_ms <= 0 or p95 <= g.max_latency_p95_ms,
                pass_error_rate=g.max_error_rate <= 0 or error_rate <= g.max_error_rate,
                pass_empty_rate=g.max_empty_rate <= 0 or empty_rate <= g.max_empty_rate,
            )
        )
    expected = dict(cfg.srm.expected) or None

    def srm_of(counts: Mapping[str, int]) -> SRMResult:
        return srm_test(
            counts, alpha=cfg.srm.alpha, min_sample=cfg.srm.min_sample, expected_ratios=expected
        )

    srm_segments = {k: srm_of(srm_counts[k]) for k in sorted(srm_counts) if k}
    a = {f: 0 for f in ("asg", "asgexp")}
    for key, n in m.counts.items():
        if key[0] == "a" and key[2] == exp and (tenant is None or key[1] == tenant):
            a[key[3]] += int(n)
    doc: dict[str, Any] = {
        "experiment_id": exp,
        "as_of_ms": m.as_of_ms,
        "variants": _rows(variants, level),
        "guardrails": {"per_variant": [sections.guardrail(x) for x in guards]},
        "significance": [sections.significance(t) for t in tests],
        "by_segment": {k: _rows(vs, level) for k, vs in by_segment.items()},
        "by_surface": {k: _rows(vs, level) for k, vs in by_surface.items()},
        "srm": _srm_doc(cfg, srm_of(srm_counts.get("", {})), srm_segments),
        "control_variant": control,
        "assignments": {
            "assignments_count": a["asg"],
            "assignment_join_rate": _ratio(a["asgexp"], a["asg"]),
        },
    }
    return doc


# -- the Kafka reader ----------------------------------------------------------------------


class StreamGauges(Protocol):
    """What the live view does not carry, read elsewhere (``serving.kafka_gauges``)."""

    @property
    def dead_letters(self) -> int: ...

    @property
    def lag_records(self) -> int: ...


class LiveReader:
    """A ``LiveSource`` over ``recsys.views.live.v1``, read whole from the beginning."""

    def __init__(
        self,
        bootstrap: str,
        experiment_config: ExperimentConfig | None = None,
        *,
        wait_topics_s: float = 60.0,
        gauges: StreamGauges | None = None,
        fetch_max_wait_ms: int = FETCH_MAX_WAIT_MS,
    ) -> None:
        self.bootstrap = bootstrap
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.config = experiment_config or default_experiment_config()
        self.wait_topics_s = wait_topics_s
        self.gauges = gauges
        self.snapshots: dict[int, dict[str, Any]] = {}
        self.records = 0
        self._merged: Merged | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._targets: dict[TopicPartition, int] = {}
        self._lagging: set[TopicPartition] = set()

    # -- LiveSource --
    def merged(self) -> Merged:
        if self._merged is None:
            self._merged = merge_snapshots(self.snapshots.values())
        return self._merged

    def overview(self, tenant: str | None = None) -> dict[str, Any]:
        """The overview; dead letters and lag from the gauges (0 when built without)."""
        if self.gauges is None:
            return overview(self.merged(), tenant, dead_letters=0, lag_records=0)
        return overview(
            self.merged(),
            tenant,
            dead_letters=self.gauges.dead_letters,
            lag_records=self.gauges.lag_records,
        )

    def experiment(self, experiment_id: str, tenant: str | None = None) -> dict[str, Any] | None:
        return experiment(self.merged(), experiment_id, self.config, tenant)

    def experiment_ids(self, tenant: str | None = None) -> list[str]:
        return experiment_ids(self.merged(), tenant)

    # -- feeding --
    def put(self, key: bytes | None, value: bytes | None) -> None:
        """Fold one record of the live view topic (latest snapshot per partition)."""
        if key is None:
            return
        try:
            partition = int(key.decode())
        except ValueError:
            return
        if value is None:
            self.snapshots.pop(partition, None)
        else:
            try:
                self.snapshots[partition] = json.loads(value)
            except ValueError:
                log.warning("live view record for partition %d is not JSON", partition)
                return
        self._merged = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id="recsys-live-reader",
            fetch_max_wait_ms=self.fetch_max_wait_ms,
        )
        try:  # a consumer whose start failed must be stopped too (unclosed otherwise)
            await consumer.start()
            tps = await self._partitions()
            self._targets = await fetch_highwaters(self.bootstrap, tps)
            self._lagging = {tp for tp, hw in self._targets.items() if hw > 0}
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
        except BaseException:
            await consumer.stop()
            raise
        self._consumer = consumer
        self._task = asyncio.create_task(self._run(), name="live-reader")

    async def _partitions(self) -> list[TopicPartition]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="recsys-live")
        await admin.start()
        try:
            deadline = asyncio.get_running_loop().time() + self.wait_topics_s
            while topics.LIVE_VIEW not in set(await admin.list_topics()):
                if asyncio.get_running_loop().time() > deadline:
                    raise BrokerError(
                        f"{topics.LIVE_VIEW} missing on {self.bootstrap} (start a worker)"
                    )
                await asyncio.sleep(0.5)
            described = await admin.describe_topics([topics.LIVE_VIEW])
        finally:
            await admin.close()
        return sorted(
            TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]
        )

    async def _run(self) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        while True:
            try:
                batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            except KafkaError:
                log.warning("live reader fetch failed; retrying", exc_info=True)
                await asyncio.sleep(0.5)
                continue
            for records in batch.values():
                for record in records:
                    self.put(record.key, record.value)
                    self.records += 1
            for tp in list(self._lagging):
                if await consumer.position(tp) >= self._targets[tp]:
                    self._lagging.discard(tp)

    def ready(self) -> bool:
        """True once every partition reached the high-water mark seen at start."""
        return self._consumer is not None and not self._lagging

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        if self._consumer is not None:
            await self._consumer.stop()
