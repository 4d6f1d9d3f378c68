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
        (["replay", "--exposures", "e", "--rate", "-5"],
         "argument --rate: -5 is not a rate: give events per second > 0"),
        (["replay", "--exposures", "e", "--rate", "nan"], "argument --rate: nan is not a rate"),
        (["replay", "--exposures", "e", "--rate", "0"], "argument --rate: 0 is not a rate"),
        (["replay", "--exposures", "e", "--rate", "inf"], "argument --rate: inf is not a rate"),
        (["replay", "--exposures", "e", "--rate", "fast"], "argument --rate: 'fast' is not a"),
    ],
)
def test_bad_flags_are_refused_before_anything_starts(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["produce", "--topic", "exposures", "{dir}", "--bootstrap", "127.0.0.1:1"],
        ["replay", "--exposures", "{dir}", "--bootstrap", "127.0.0.1:1"],
    ],
)
def test_a_directory_given_as_an_input_file_is_one_error_line(argv, tmp_path, capsys):
    argv = [a.replace("{dir}", str(tmp_path)) for a in argv]
    assert main(argv) == 1
    assert capsys.readouterr().err == f"recsys: error: {tmp_path}: is a directory, not a file\n"


def test_demo_report_refuses_an_output_that_is_a_file(tmp_path, capsys):
    taken = tmp_path / "report"
    taken.write_text("mine")
    assert main(["demo-report", "--output", str(taken), "--bootstrap", "127.0.0.1:1"]) == 1
    assert capsys.readouterr().err == (
        f"recsys: error: --output {taken}: exists and is not a directory\n"
    )
    assert taken.read_text() == "mine"
