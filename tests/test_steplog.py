"""step_logging: a failing step writes its traceback to its log and one line to the console, and exits with 1."""

from __future__ import annotations

import logging

import pytest

from oncoae.data.readers import InputError
from oncoae.steplog import step_logging


def test_an_input_error_is_one_console_line_and_a_traceback_in_the_log(tmp_path, capsys):
    log_path = tmp_path / "logs" / "step.log"
    with pytest.raises(SystemExit) as raised, step_logging(log_path) as log:
        log.info("reading")
        raise InputError("clinical.tsv: column 'os_event', sample 's3': cannot read event '2'")
    assert raised.value.code == 1
    assert capsys.readouterr().err == (
        f"oncoae: clinical.tsv: column 'os_event', sample 's3': cannot read event '2' (traceback in {log_path})\n"
    )
    text = log_path.read_text()
    assert "INFO oncoae.step: reading" in text and "Traceback (most recent call last)" in text
    assert "InputError: clinical.tsv: column 'os_event'" in text


def test_an_unexpected_error_shows_its_type_on_one_line(tmp_path, capsys):
    log_path = tmp_path / "step.log"
    with pytest.raises(SystemExit), step_logging(log_path):
        raise KeyError("two\nlines")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("oncoae: KeyError: 'two\\nlines'")


def test_a_successful_step_exits_normally_and_logs(tmp_path, capsys):
    log_path = tmp_path / "step.log"
    with step_logging(log_path) as log:
        logging.getLogger("oncoae.data").info("fine")
    assert capsys.readouterr().err == "" and "fine" in log_path.read_text()
    assert log.name == "oncoae.step"


def test_a_ddp_rank_beyond_zero_logs_beside_the_step_log_and_leaves_it_whole(tmp_path, monkeypatch):
    log_path = tmp_path / "train.log"
    with step_logging(log_path):
        logging.getLogger("oncoae.step").info("rank zero's line")
    monkeypatch.setenv("LOCAL_RANK", "1")  # what Lightning's DDP launcher sets in the processes it starts
    with step_logging(log_path):
        logging.getLogger("oncoae.step").info("rank one's line")
    assert "rank zero's line" in log_path.read_text()
    assert "rank one's line" in (tmp_path / "train.log.rank1").read_text()
