"""Bad command-line values are refused at parsing, with the flag and the valid range."""

from __future__ import annotations

import pytest

from app.cli import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["up", "--port", "-5"], "--port: -5 is not a port: use 0..65535 (0: any free port)"),
        (["up", "--port", "99999"], "argument --port: 99999 is not a port: use 0..65535"),
        (["up", "--port", "http"], "argument --port: 'http' is not an integer"),
        (["up", "--kafka-port", "0"], "argument --kafka-port: 0 is not a port: use 1..65535"),
        (["up", "--partitions", "0"], "--partitions: 0 is not a partition count: use >= 1"),
        (["worker", "--partitions", "-1"], "argument --partitions: -1 is not a partition count"),
        (["serve", "--port", "65536"], "argument --port: 65536 is not a port: use 0..65535"),
    ],
)
def test_bad_flags_are_refused_before_anything_starts(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
