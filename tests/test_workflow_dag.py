"""DAG inspection and partial work: dry runs of a 4 x 4 mosaic, strip groups, kill and resume."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from astropy.io import fits

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _copy_workflow(dest) -> str:
    os.makedirs(dest, exist_ok=True)
    for name in ("Snakefile", "workflow", "config", ".test", "profiles"):
        src = os.path.join(REPO, name)
        (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, os.path.join(dest, name))
    os.symlink("profiles/slurm", os.path.join(dest, "slurm"))
    return str(dest)


def _snakemake(wd, *args, configfile=".test/config.yaml") -> str:
    cmd = [sys.executable, "-m", "snakemake", "--configfile", configfile, *args]
    res = subprocess.run(cmd, cwd=wd, capture_output=True, text=True, timeout=900)
    out = res.stdout + res.stderr
    assert res.returncode == 0, f"snakemake {' '.join(args)} failed:\n{out[-4000:]}"
    return out


def _job_counts(text: str) -> dict[str, int]:
    table = text.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M)}


def _dry_run_jobs(text: str) -> list[dict]:
    """The jobs of a `snakemake -n` printout: rule name, inputs and outputs."""
    jobs = []
    for chunk in re.split(r"\n(?=\s*(?:local)?(?:rule|checkpoint) \w+:)", text):
        m = re.match(r"\s*(?:local)?(?:rule|checkpoint) (\w+):", chunk)
        if not m:
            continue
        files = {}
        for key in ("input", "output"):
            k = re.search(rf"^\s+{key}: (.*)$", chunk, re.M)
            files[key] = [p.strip() for p in k.group(1).split(",")] if k else []
        jobs.append({"rule": m.group(1), **files})
    return jobs


@pytest.fixture(scope="module")
def mosaic3(tmp_path_factory):
    """A 4 x 4 mosaic of 14" blocks over a survey of 27" SCAs, planned (simulate, link, plan run)."""
    wd = _copy_workflow(tmp_path_factory.mktemp("mosaic3"))
    path = os.path.join(wd, ".test", "small.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg.update(BLOCK=4, OUTSIZE=[2, 64, 0.11], OUT="results/blocks/m3_H", INLAYERCACHE="results/cache/m3_H")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=4)
    with open(os.path.join(wd, ".test", "config.yaml")) as f:
        text = f.read()
    text = text.replace("n_passes: 2", "n_passes: 3").replace("dithers_per_pass: 2", "dithers_per_pass: 3")
    with open(os.path.join(wd, ".test", "config.yaml"), "w") as f:
        f.write(text)
    _snakemake(wd, "--cores", "2", "results/plan.json")
    with open(os.path.join(wd, "results", "plan.json")) as f:
        plan = json.load(f)
    return wd, plan


@pytest.mark.slow
def test_dry_run_job_counts_and_layer_sets_per_block(mosaic3):
    wd, plan = mosaic3
    out = _snakemake(wd, "-n")
    counts = _job_counts(out)
    assert counts["coadd_block"] == 16
    assert counts["input_layers"] == len(plan["images"]) > 0
    assert "simulate_survey" not in counts and "plan" not in counts  # already done
    # each block job's inputs are exactly the layer files of its plan entry
    jobs = _dry_run_jobs(out)
    coadds = {j["output"][0]: j for j in jobs if j["rule"] == "coadd_block"}
    assert len(coadds) == 16
    for block in plan["blocks"]:
        job = coadds[block["file"]]
        want = {f"results/cache/m3_H_{o:08d}_{s:02d}.fits" for o, s in block["images"]}
        got = {p for p in job["input"] if p.startswith("results/cache/") and not p.endswith("_mask.fits")}
        assert got == want, block["file"]
    # the layer jobs are exactly the plan's images
    layers = {j["output"][0] for j in jobs if j["rule"] == "input_layers"}
    assert layers == {f"results/cache/m3_H_{i['obsid']:08d}_{i['sca']:02d}.fits" for i in plan["images"]}


@pytest.mark.slow
def test_slurm_dry_run_groups_layers_per_strip(mosaic3):
    """`--profile slurm -n` needs no SLURM binaries and shows one group job per strip."""
    wd, _ = mosaic3
    # one block row per strip: re-plan first (the checkpoint decides the layer jobs), then dry-run
    _snakemake(wd, "--cores", "2", "--config", "strip_rows=1", "--", "results/plan.json")
    with open(os.path.join(wd, "results", "plan.json")) as f:
        plan = json.load(f)
    out = _snakemake(wd, "--profile", "slurm", "-n", "--config", "strip_rows=1")
    strips = {img["strip"] for img in plan["images"]}
    assert len(strips) > 1  # 27" SCAs over a 56" mosaic in strips of one block row
    assert set(re.findall(r"Group job (strip\d+)", out)) == {f"strip{s:03d}" for s in strips}
    members: dict[str, int] = {}
    group = None  # the group whose indented member listing is being read
    for line in out.splitlines():
        m = re.search(r"Group job (strip\d+)", line)
        if m:
            group = m.group(1)
        elif line.startswith(("[", "Job stats:", "Reasons:", "This was a dry-run")):
            group = None  # the next top-level job (member listings are indented)
        elif group and "rule input_layers:" in line:
            members[group] = members.get(group, 0) + 1
    # every layer job of a strip is in that strip's group
    want = {f"strip{s:03d}": sum(img["strip"] == s for img in plan["images"]) for s in strips}
    assert members == want


@pytest.mark.slow
def test_one_block_builds_only_its_layers(mosaic3, tmp_path):
    wd, plan = mosaic3
    block = min(plan["blocks"], key=lambda b: len(b["images"]))  # the block that needs fewest images
    out = _snakemake(wd, "-n", block["file"])
    layers = {j["output"][0] for j in _dry_run_jobs(out) if j["rule"] == "input_layers"}
    assert layers == {f"results/cache/m3_H_{o:08d}_{s:02d}.fits" for o, s in block["images"]}
    assert len(layers) < len(plan["images"])
    assert _job_counts(out)["coadd_block"] == 1


@pytest.mark.slow
def test_killed_run_resumes_with_identical_blocks(tmp_path):
    wd = _copy_workflow(tmp_path)
    cmd = [sys.executable, "-m", "snakemake", "--configfile", ".test/config.yaml", "--cores", "2"]
    proc = subprocess.Popen(cmd, cwd=wd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    blocks = tmp_path / "results" / "blocks"
    deadline = time.monotonic() + 600
    try:  # kill everything (SIGKILL, like a node failure) while the coadds are under way
        while time.monotonic() < deadline and proc.poll() is None:
            if blocks.is_dir() and any(blocks.glob("small_H_??_??.fits")):
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    done = sorted(p.name for p in blocks.glob("small_H_??_??.fits"))
    assert 1 <= len(done) < 4
    _snakemake(wd, "--unlock")
    out = _snakemake(wd, "--cores", "2")  # rerun-incomplete comes from profiles/default
    assert "coadd_block" in out
    assert len(list(blocks.glob("small_H_??_??.fits"))) == 4
    resumed = tmp_path / "resumed"
    shutil.copytree(blocks, resumed)
    _snakemake(wd, "--cores", "2", "--forcerun", "coadd_block")  # a clean recomputation
    for name in sorted(p.name for p in resumed.glob("small_H_??_??.fits")):
        with fits.open(resumed / name) as a, fits.open(blocks / name) as b:
            for ha, hb in zip(a, b, strict=True):
                if ha.data is not None and not isinstance(ha, fits.BinTableHDU):
                    np.testing.assert_array_equal(ha.data, hb.data, err_msg=f"{name} HDU {ha.name}")
