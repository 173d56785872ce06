"""The tiny end-to-end mosaic through `snakemake --profile slurm` on a real SLURM cluster.

Needs a running cluster (`scripts/slurm/start_local_slurm.sh` brings up a private single-node one;
`.ci/run` does so). Without one every test here is skipped, with the reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits

from pyimcom.slurm import env, env_int, status_command

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKFLOW_FILES = ("Snakefile", "workflow", "config", ".test", "profiles")


def _cluster_state() -> str | None:
    """None when a SLURM controller answers, else why not."""
    if shutil.which("scontrol") is None or shutil.which("sbatch") is None:
        return "SLURM is not installed (no scontrol/sbatch on PATH)"
    try:
        res = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`scontrol ping` failed: {exc}"
    if "UP" not in res.stdout:
        return f"no SLURM controller is up (`scontrol ping`: {(res.stdout + res.stderr).strip()!r})"
    return None


def _copy_workflow(dest) -> str:
    os.makedirs(dest, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = os.path.join(REPO, name)
        (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, os.path.join(dest, name))
    os.symlink("profiles/slurm", os.path.join(dest, "slurm"))  # as in the repository root
    return str(dest)


def _run(wd, *args, env_extra=None, timeout=1500) -> str:
    cmd = [sys.executable, "-m", "snakemake", "--configfile", ".test/config.yaml", *args]
    res = subprocess.run(cmd, cwd=wd, capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, **(env_extra or {})})  # fmt: skip
    out = res.stdout + res.stderr
    assert res.returncode == 0, f"snakemake {' '.join(args)} failed:\n{out[-6000:]}"
    return out


def test_env_helpers(monkeypatch):
    monkeypatch.setenv("PYIMCOM_SLURM_JOBS", " 12 ")
    assert env_int("JOBS", 200) == 12 and env("JOBS") == "12"
    monkeypatch.delenv("PYIMCOM_SLURM_JOBS")
    assert env_int("JOBS", 200) == 200 and env("JOBS", "x") == "x"
    monkeypatch.setenv("PYIMCOM_SLURM_JOBS", "0")
    with pytest.raises(ValueError, match="PYIMCOM_SLURM_JOBS"):
        env_int("JOBS", 200)
    monkeypatch.setenv("PYIMCOM_SLURM_STATUS_COMMAND", "squeue")
    assert status_command() == "squeue"
    monkeypatch.setenv("PYIMCOM_SLURM_STATUS_COMMAND", "qstat")
    with pytest.raises(ValueError, match="STATUS_COMMAND"):
        status_command()


def test_status_command_without_sacct(monkeypatch, tmp_path):
    monkeypatch.delenv("PYIMCOM_SLURM_STATUS_COMMAND", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no sacct at all
    assert status_command() == "squeue"
    fake = tmp_path / "sacct"  # sacct present, accounting disabled: it exits 1
    fake.write_text("#!/bin/sh\necho 'Slurm accounting storage is disabled' >&2\nexit 1\n")
    fake.chmod(0o755)
    assert status_command() == "squeue"
    fake.write_text("#!/bin/sh\nexit 0\n")
    assert status_command() == "sacct"


def test_slurm_profile_dry_run_groups_layers_per_strip(tmp_path):
    """`--profile slurm` from the root resolves, and a dry run (no SLURM needed) shows strip groups."""
    wd = _copy_workflow(tmp_path)
    local = _run(wd, "--cores", "2", "--until", "plan")  # the plan decides the layer jobs
    assert "plan" in local
    out = _run(wd, "--profile", "slurm", "-n")
    plan = json.loads((tmp_path / "results" / "plan.json").read_text())
    strips = {img["strip"] for img in plan["images"]}
    groups = set(re.findall(r"Group job (strip\d+)", out))
    assert groups == {f"strip{s:03d}" for s in strips}
    spelled_out = _run(wd, "--profile", "profiles/slurm", "-n")  # the long form works too
    assert set(re.findall(r"Group job (strip\d+)", spelled_out)) == groups
    counts = {m[0]: int(m[1]) for m in re.findall(r"^(\w+)\s+(\d+)\s*$", out.split("Job stats:")[1], re.M)}
    assert counts["input_layers"] == len(plan["images"]) and counts["coadd_block"] == 4


@pytest.mark.slurm
def test_tiny_mosaic_on_slurm_equals_local_run(tmp_path, capsys):
    reason = _cluster_state()
    if reason:
        print(f"skipping the SLURM end-to-end test: {reason}")
        pytest.skip(reason)
    slurm_wd = _copy_workflow(tmp_path / "slurm_run")
    fast_polling = {"PYIMCOM_SLURM_INIT_SECONDS": "2", "PYIMCOM_SLURM_POLL_SECONDS": "2"}
    out = _run(slurm_wd, "--profile", "slurm", env_extra=fast_polling)
    with capsys.disabled():  # the CI log shows every sbatch submission
        print("\nSLURM submissions of the tiny mosaic:")
        print("\n".join(line for line in out.splitlines() if "submitted with SLURM jobid" in line))
    plan = json.loads((tmp_path / "slurm_run" / "results" / "plan.json").read_text())
    strips = {img["strip"] for img in plan["images"]}
    # one sbatch per strip for all layer jobs, one per block
    group_logs = re.findall(r"slurm_logs/group_(strip\d+)_input_layers/\d+\.log", out)
    assert sorted(group_logs) == sorted(f"strip{s:03d}" for s in strips)
    assert len(re.findall(r"slurm_logs/rule_coadd_block/", out)) == 4
    assert "rule_input_layers" not in out  # no layer job went alone
    local_wd = _copy_workflow(tmp_path / "local_run")
    _run(local_wd, "--cores", "2")
    names = sorted(p.name for p in (tmp_path / "local_run" / "results" / "blocks").glob("*.fits"))
    assert len(names) == 5  # 4 blocks and the truth catalogue
    for name in names:
        with (
            fits.open(tmp_path / "local_run" / "results" / "blocks" / name) as a,
            fits.open(tmp_path / "slurm_run" / "results" / "blocks" / name) as b,
        ):
            assert [h.name for h in a] == [h.name for h in b]
            for ha, hb in zip(a, b, strict=True):
                if ha.data is not None and not isinstance(ha, fits.BinTableHDU):
                    np.testing.assert_array_equal(ha.data, hb.data, err_msg=f"{name} HDU {ha.name}")
