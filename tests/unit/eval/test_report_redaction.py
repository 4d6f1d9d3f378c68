"""Credentials in the configs never reach a report's effective_config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.cli import main
from eval.report.redaction import mask_credentials
from tests.unit.eval.support import FIXED_CLOCK, FIXTURES


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"access_key": "AKIA1", "secret_key": "s"}, {"access_key": "***", "secret_key": "***"}),
        (
            {"Password": "p", "api_token": "t", "x": {"client_secret": "c"}},
            {"Password": "***", "api_token": "***", "x": {"client_secret": "***"}},
        ),
        ({"secret_key": "", "token": None}, {"secret_key": "", "token": None}),  # unset stays
        (
            {"endpoint": "http://minio:9000", "bucket": "b"},
            {"endpoint": "http://minio:9000", "bucket": "b"},
        ),
        (
            {"dsn": "postgres://bob:pw@db:5432/x?sslmode=require"},
            {"dsn": "postgres://bob:***@db:5432/x?sslmode=require"},
        ),
        (
            {"dsn": "host=db user=bob password='a b' dbname=x"},
            {"dsn": "host=db user=bob password=*** dbname=x"},
        ),
        ({"registry_url": "https://user@registry"}, {"registry_url": "https://user@registry"}),
        ([{"passwd": "p"}, "mail@example.org"], [{"passwd": "***"}, "mail@example.org"]),
    ],
)
def test_mask_credentials(value: object, expected: object) -> None:
    assert mask_credentials(value) == expected


def test_report_effective_config_masks_the_s3_keys(tmp_path: Path, tiny_dataset: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        (FIXTURES / "offline.golden.yaml").read_text()
        + "artifacts:\n  object_store:\n    type: s3\n"
        + "    s3: {endpoint: 'http://minio:9000', access_key: AKIAEXAMPLE, secret_key: shh}\n"
    )
    output = tmp_path / "report.json"
    argv = ["run", "--dataset", str(tiny_dataset), "--config", str(config)]
    assert main([*argv, "--output", str(output), "--fixed-clock", FIXED_CLOCK], env={}) == 0
    text = output.read_text()
    assert "AKIAEXAMPLE" not in text and "shh" not in text
    s3 = json.loads(text)["effective_config"]["eval"]["artifacts"]["object_store"]["s3"]
    assert s3["access_key"] == s3["secret_key"] == "***"
    assert s3["endpoint"] == "http://minio:9000"
