"""Prometheus metrics: outcomes, empties, returned-items histogram, no tenant labels."""

from __future__ import annotations

from serving.metrics import Histogram, outcome_of
from tests.unit.serving.app_fixtures import harness

OK = {"surface": "home", "k": 3, "user": {"user_id": "u1"}}


def test_outcome_labels_follow_the_original():
    assert [outcome_of(s) for s in (200, 400, 401, 403, 404, 409, 422, 429, 500, 503)] == [
        "success", "invalid_request", "forbidden", "forbidden", "invalid_request",
        "invalid_request", "validation_failed", "overload", "internal_error", "overload"]


def test_histogram_is_cumulative():
    h = Histogram((1, 5))
    for v in (0, 1, 3, 9):
        h.observe(v)
    assert h.lines("x") == ['x_bucket{le="1"} 2', 'x_bucket{le="5"} 3', 'x_bucket{le="+Inf"} 4',
                            "x_sum 13", "x_count 4"]


async def test_metrics_endpoint_counts_requests():
    async with harness(rate_capacity=3, rate_refill_per_s=0.001) as hs:
        await hs.post("/v1/recommend", OK)
        await hs.post("/v1/recommend", {**OK, "candidates": {"include_ids": ["q"]}})
        await hs.post("/v1/recommend", {"surface": "home"})
        await hs.post("/v1/recommend", OK)  # the 4th request of t1 is rate limited
        resp = await hs.client.get("/metrics")
        assert resp.status == 200 and resp.content_type == "text/plain"
        text = await resp.text()
        assert ('recsys_recommendation_requests_total{endpoint="/v1/recommend",'
                'outcome="success",empty="false"} 1') in text
        assert ('recsys_recommendation_requests_total{endpoint="/v1/recommend",'
                'outcome="success",empty="true"} 1') in text
        assert ('recsys_recommendation_requests_total{endpoint="/v1/recommend",'
                'outcome="validation_failed",empty=""} 1') in text
        assert ('recsys_recommendation_requests_total{endpoint="/v1/recommend",'
                'outcome="overload",empty=""} 1') in text
        assert 'recsys_recommendation_returned_items_bucket{le="0"} 1' in text
        assert 'recsys_recommendation_returned_items_bucket{le="5"} 2' in text
        assert "recsys_rate_limited_total 1" in text
        assert "recsys_events_dropped_total 0" in text
        assert "t1" not in text and "u1" not in text
