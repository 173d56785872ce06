"""Tests of the ``pyimcom`` command (pyimcom/cli.py): help, version, config, plan and simulate."""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys

import pytest
from astropy.io import fits
from conftest import small_config_dict

import pyimcom
from pyimcom.cli import build_parser, main
from pyimcom.config import Config
from pyimcom.io.config_hdu import config_table_hdu
from pyimcom.io.obstable import read_obs_table


def _subcommands() -> list[str]:
    """Names of the subcommands registered in `build_parser` (new ones are picked up automatically)."""
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return sorted(actions[0].choices)


SUBCOMMANDS = _subcommands()


@pytest.fixture
def config_path(tmp_path) -> str:
    """A valid small configuration JSON file under ``tmp_path``."""
    path = os.path.join(tmp_path, "small.json")
    with open(path, "w") as f:
        json.dump(small_config_dict(str(tmp_path)), f, indent=4)
    return path


def _write_config(tmp_path, name: str, **changes) -> str:
    """Write ``small_config_dict`` with keywords changed (value None: keyword removed)."""
    d = small_config_dict(str(tmp_path))
    for key, value in changes.items():
        if value is None:
            d.pop(key)
        else:
            d[key] = value
    path = os.path.join(tmp_path, name)
    with open(path, "w") as f:
        json.dump(d, f)
    return path


# ----------------------------------------------------------------------------- help and version
def test_subcommands_discovered():
    assert {"simulate", "plan", "config"} <= set(SUBCOMMANDS)


def test_help_subprocess():
    result = subprocess.run(
        [sys.executable, "-m", "pyimcom", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: pyimcom")
    for name in SUBCOMMANDS:
        assert name in result.stdout


def test_help_in_process(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("usage: pyimcom")


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_subcommand_help(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: pyimcom {name}")


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.strip() == f"pyimcom {pyimcom.__version__}"


def test_no_subcommand_is_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    assert "usage: pyimcom" in capsys.readouterr().err


# ----------------------------------------------------------------------------- config
def test_config_prints_json(config_path, capsys):
    assert main(["config", config_path]) == 0
    out = capsys.readouterr().out
    parsed = json.loads(out)
    assert parsed["OUT"] == small_config_dict(os.path.dirname(config_path))["OUT"]
    assert Config(out) == Config(config_path)


def test_config_write(config_path, tmp_path, capsys):
    out_path = os.path.join(tmp_path, "sub", "written.json")
    assert main(["config", config_path, "--write", out_path]) == 0
    assert capsys.readouterr().out == ""
    assert os.path.exists(out_path)
    assert Config(out_path) == Config(config_path)


def test_config_block(config_path, tmp_path, capsys):
    cfg = Config(config_path)
    block = os.path.join(tmp_path, "block_00_00.fits")
    fits.HDUList([fits.PrimaryHDU(), config_table_hdu(cfg.to_file(None))]).writeto(block)
    assert main(["config", "--block", block]) == 0
    out = capsys.readouterr().out
    assert Config(out) == cfg
    assert Config(block, inmode="block") == cfg


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"OUTSIZE": [3, 16, 0.25]}, "OUTSIZE"),
        ({"OUT": None}, "OUT"),
        ({"FILTER": 99}, "FILTER"),
    ],
    ids=["odd-n1", "missing-OUT", "bad-FILTER"],
)
def test_config_invalid(tmp_path, caplog, capsys, changes, key):
    path = _write_config(tmp_path, "bad.json", **changes)
    with caplog.at_level(logging.ERROR, logger="pyimcom"):
        assert main(["config", path]) == 2
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert key in errors[0].getMessage()
    assert capsys.readouterr().out == ""


def test_config_missing_file(tmp_path, caplog):
    path = os.path.join(tmp_path, "nope.json")
    with caplog.at_level(logging.ERROR, logger="pyimcom"):
        assert main(["config", path]) == 2
    assert any(path in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


# ----------------------------------------------------------------------------- plan
def test_plan(small_survey, tmp_path):
    cfg = small_survey["cfg"]
    nb = cfg.nblock
    first, second = os.path.join(tmp_path, "plan.json"), os.path.join(tmp_path, "again", "plan.json")
    assert main(["plan", small_survey["config_path"], "-o", first, "--strip-rows", "1"]) == 0
    with open(first) as f:
        plan = json.load(f)
    blocks = plan["blocks"]
    assert len(blocks) == nb * nb
    for this_sub, block in enumerate(blocks):
        assert block["this_sub"] == this_sub
        ibx, iby = divmod(this_sub, nb)
        assert (block["ibx"], block["iby"]) == (ibx, iby)
        assert block["file"] == f"{cfg.outstem}_{ibx:02d}_{iby:02d}.fits"
    assert plan["images"], "the simulated survey overlaps the mosaic"
    assert main(["plan", small_survey["config_path"], "-o", second, "--strip-rows", "1"]) == 0
    with open(first, "rb") as f1, open(second, "rb") as f2:
        assert f1.read() == f2.read()


# ----------------------------------------------------------------------------- simulate
def test_simulate_tiny(config_path, tmp_path):
    outdir = os.path.join(tmp_path, "sim")
    argv = ["simulate", config_path, "--outdir", outdir, "--sca-nside", "128", "--psf-nside-os", "64"]
    argv += ["--n-passes", "1", "--dithers-per-pass", "1", "--star-density-arcmin2", "10"]
    argv += ["--galaxy-density-arcmin2", "0", "--no-noise"]
    assert main(argv) == 0
    for name in ("obs.fits", "catalog.fits", os.path.join("psf", "psf_polyfit_0.fits")):
        assert os.path.exists(os.path.join(outdir, name)), name
    science = os.listdir(os.path.join(outdir, "simple"))
    assert any(n.startswith("Roman_WAS_simple_model_") and n.endswith(".fits") for n in science)
    labnoise = os.listdir(os.path.join(outdir, "labnoise"))
    assert len(labnoise) == len(science)
    assert all(n.startswith("slope_0_") for n in labnoise)
    assert len(read_obs_table(os.path.join(outdir, "obs.fits"))) == 1


def test_importing_pyimcom_sets_the_openblas_thread_timeout_before_numpy_loads():
    code = "import os, sys, pyimcom; print(os.environ['OPENBLAS_THREAD_TIMEOUT'], 'numpy' in sys.modules)"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    run = lambda: subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,  # noqa: E731
                                 check=True).stdout.split()  # fmt: skip
    assert run() == ["20", "False"]  # set, and numpy (with its OpenBLAS) not yet loaded
    env["OPENBLAS_THREAD_TIMEOUT"] = "8"
    assert run() == ["8", "False"]  # the user's setting wins
