"""Dry run of a production-size mosaic: how long `snakemake -n` takes and how many jobs each rule gets.

Builds, in a scratch directory, a 36 x 36 mosaic of 100" blocks (OUTSIZE [80, 32, 0.0390625]) over a
synthetic observation table that tiles the 1 deg² area with two roll angles, plans it from the table
alone (``plan_mode: pointing``, no pixel data), puts empty placeholder files where the plan expects the
input images (a dry run only checks that inputs exist), then times ``snakemake -n``.

    python benchmarks/bench_dryrun.py [--nblock 36] [--workdir DIR] [--keep]

Prints the planning time, the dry-run time and the "Job stats" table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCK_ARCSEC = 80 * 32 * 0.0390625  # 100"


def tiling_pointings(ra_c: float, dec_c: float, half_width_deg: float, step_deg: float = 0.25):
    """Pointings on a square grid (two rolls, 0° and 90°) covering a square around (ra_c, dec_c)."""
    n = math.ceil(2 * (half_width_deg + 0.4) / step_deg) + 1
    offsets = (np.arange(n) - (n - 1) / 2) * step_deg
    dy, dx = np.meshgrid(offsets, offsets, indexing="ij")
    ra = ra_c + dx.ravel() / math.cos(math.radians(dec_c))
    dec = dec_c + dy.ravel()
    ra, dec = np.concatenate([ra, ra]), np.concatenate([dec, dec])
    pa = np.repeat([0.0, 90.0], n * n)
    return ra, dec, pa


def setup(workdir: str, nblock: int) -> None:
    from pyimcom.io.obstable import write_obs_table

    for name in ("Snakefile", "workflow", "config", "profiles"):
        src = os.path.join(REPO, name)
        (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, os.path.join(workdir, name))
    with open(os.path.join(REPO, "config", "demo.json")) as f:
        cfg = json.load(f)
    cfg.update(
        BLOCK=nblock, OUTSIZE=[80, 32, 0.0390625], OBSFILE="data/obs.fits", INDATA=["data", "anlsim"],
        INPSF=["data/psf", "anlsim", 8], OUT="results/blocks/prod_H", INLAYERCACHE="results/cache/prod_H",
    )  # fmt: skip
    with open(os.path.join(workdir, "config", "prod.json"), "w") as f:
        json.dump(cfg, f, indent=4)
    half = nblock * BLOCK_ARCSEC / 3600 / 2
    ra, dec, pa = tiling_pointings(cfg["CTR"][0], cfg["CTR"][1], half)
    os.makedirs(os.path.join(workdir, "data", "psf"), exist_ok=True)
    dates = 61541.0 + np.arange(len(ra)) * 0.01
    obs = os.path.join(workdir, "data", "obs.fits")
    write_obs_table(obs, ra, dec, pa, ["H158"] * len(ra), date_mjd=dates, exptime_s=np.full(len(ra), 139.8))
    with open(os.path.join(workdir, "config", "prod.yaml"), "w") as f:
        f.write(
            "pyimcom_config: config/prod.json\nplan: results/plan.json\nplan_mode: pointing\n"
            "report_stem: results/report/prod\nsimulate:\n  enabled: false\ninputs:\n  link: false\n"
        )


def placeholders(workdir: str, plan: dict) -> int:
    """Empty files where the plan's images and PSFs are expected; returns how many."""
    from pyimcom.workflow import WorkflowContext

    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        wf_config = {"pyimcom_config": "config/prod.json", "simulate": {"enabled": False}}
        ctx = WorkflowContext.from_config({**wf_config, "inputs": {"link": False}})
        paths = set()
        for img in plan["images"]:
            paths.update(ctx.layer_inputs(img["obsid"], img["sca"]))
        for p in paths:
            os.makedirs(os.path.dirname(p) or ".", exist_ok=True)
            open(p, "a").close()
    finally:
        os.chdir(cwd)
    return len(paths)


def snakemake(workdir: str, *args: str) -> tuple[str, float]:
    cmd = [sys.executable, "-m", "snakemake", "--configfile", "config/prod.yaml", *args]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if res.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{(res.stdout + res.stderr)[-4000:]}")
    return res.stdout + res.stderr, dt


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nblock", type=int, default=36, help="blocks per mosaic side (default: 36)")
    ap.add_argument("--workdir", help="scratch directory (default: a new temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args(argv)
    workdir = args.workdir or tempfile.mkdtemp(prefix="bench_dryrun_")
    os.makedirs(workdir, exist_ok=True)
    try:
        setup(workdir, args.nblock)
        _, t_plan = snakemake(workdir, "--cores", "1", "results/plan.json")
        with open(os.path.join(workdir, "results", "plan.json")) as f:
            plan = json.load(f)
        n_files = placeholders(workdir, plan)
        out, t_dry = snakemake(workdir, "-n", "--quiet", "rules")
        table = out.split("Job stats:")[1].split("Reasons:")[0].rstrip()
        print(f"mosaic {args.nblock}x{args.nblock} blocks of 100\"; {len(plan['images'])} input images "
              f"in {plan['mosaic']['n_strips']} strips; {n_files} placeholder input files")  # fmt: skip
        print(f"plan (pointing mode, via snakemake): {t_plan:.1f} s")
        print(f"snakemake -n: {t_dry:.1f} s")
        print("Job stats:" + table)
        n_groups = len(set(re.findall(r"strip\d+", out)))
        if n_groups:
            print(f"strip groups: {n_groups}")
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
