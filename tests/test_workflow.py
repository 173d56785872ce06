"""The Snakemake workflow: config validation, input links, dry run and a real run of the first steps."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from pyimcom.errors import ConfigError
from pyimcom.io.labnoise import labnoise_path
from pyimcom.workflow import WorkflowContext, link_file, validate_workflow_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _copy_workflow(dest) -> str:
    """Copy the workflow (Snakefile, rules, configs, test config) into ``dest``; return it as str."""
    for name in ("Snakefile", "workflow", "config", ".test"):
        src = os.path.join(REPO, name)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(dest, name))
        else:
            shutil.copy(src, os.path.join(dest, name))
    return str(dest)


def _snakemake(wd, *args, check=True, configfile=".test/config.yaml") -> str:
    cfgs = ["--configfile", configfile] if configfile else []
    cmd = [sys.executable, "-m", "snakemake", *cfgs, "--cores", "2", *args]
    res = subprocess.run(cmd, cwd=wd, capture_output=True, text=True, timeout=600)
    out = res.stdout + res.stderr
    if check and res.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{out[-4000:]}")
    return out


def _job_counts(text: str) -> dict[str, int]:
    table = text.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M)}


def test_schema_fills_defaults_and_names_bad_keys():
    cfg = validate_workflow_config({"pyimcom_config": "x.json"})
    assert cfg["simulate"]["enabled"] is True and cfg["plan"] == "results/plan.json"
    assert cfg["strip_rows"] is None
    with pytest.raises(ConfigError, match="strip_rows"):
        validate_workflow_config({"pyimcom_config": "x.json", "strip_rows": 0})
    with pytest.raises(ConfigError, match="simulat"):
        validate_workflow_config({"pyimcom_config": "x.json", "simulat": {}})
    with pytest.raises(ConfigError, match="simulate/seed"):
        validate_workflow_config({"pyimcom_config": "x.json", "simulate": {"seed": "one"}})
    with pytest.raises(ConfigError, match="pyimcom_config"):
        validate_workflow_config({})


def test_link_map_follows_the_json_layout():
    with open(os.path.join(REPO, ".test", "config.yaml")) as f:
        config = yaml.safe_load(f)
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        ctx = WorkflowContext.from_config(config)
        links = ctx.link_map()
    finally:
        os.chdir(cwd)
    assert links["results/inputs/obs.fits"] == "results/sim/obs.fits"
    science = [d for d in links if d.startswith("results/inputs/simple/Roman_WAS_simple_model_H158_")]
    psf = [d for d in links if re.fullmatch(r"results/inputs/psf/psf_polyfit_\d+\.fits", d)]
    lab = [d for d in links if re.fullmatch(r"results/inputs/labnoise/slope_\d+_\d+\.fits", d)]
    truth = [d for d in links if re.fullmatch(r"results/inputs/truth/Roman_WAS_truth_H158_\d+_\d+\.fits", d)]
    assert len(science) == len(lab) == len(truth) > 0 and len(psf) == 4  # 2 passes x 2 dithers
    for dst, src in links.items():
        assert os.path.basename(dst) == os.path.basename(src)


def test_link_file_is_atomic_and_replaces(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("A")
    b.write_text("B")
    dst = tmp_path / "sub" / "link.txt"
    link_file(a, dst)
    assert dst.read_text() == "A" and os.path.isabs(os.readlink(dst))
    link_file(b, dst)
    assert dst.read_text() == "B"
    with pytest.raises(OSError, match="does not exist"):
        link_file(tmp_path / "missing", dst)
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["link.txt"]


def test_dry_run_lists_simulate_link_plan(tmp_path):
    wd = _copy_workflow(tmp_path)
    out = _snakemake(wd, "-n")
    counts = _job_counts(out)
    assert counts["simulate_survey"] == 1 and counts["plan"] == 1 and counts["all"] == 1
    assert counts["link_inputs"] > 4 and counts["coadd_block"] == 4
    assert "checkpoint plan" in out


def test_dry_run_of_the_default_config(tmp_path):
    """`snakemake -n` in the repository layout with config/config.yaml (the demo mosaic)."""
    wd = _copy_workflow(tmp_path)
    out = _snakemake(wd, "-n", configfile=None)
    counts = _job_counts(out)
    assert counts["simulate_survey"] == 1 and counts["plan"] == 1
    assert "results/sim/simple/Roman_WAS_simple_model_H158_" in out


def test_rulegraph_shows_simulate_link_plan(tmp_path):
    wd = _copy_workflow(tmp_path)
    dot = subprocess.run(
        [sys.executable, "-m", "snakemake", "--configfile", ".test/config.yaml", "--rulegraph"],
        cwd=wd,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    names = dict(re.findall(r'^\s*(\d+)\[label = "(\w+)"', dot, re.M))
    edges = {(names[a], names[b]) for a, b in re.findall(r"^\s*(\d+) -> (\d+)", dot, re.M)}
    assert {("simulate_survey", "link_inputs"), ("link_inputs", "plan"), ("plan", "coadd_block")} <= edges
    assert {("coadd_block", "report"), ("truth_catalog", "report"), ("report", "all")} <= edges
    if shutil.which("dot"):
        pdf = subprocess.run(["dot", "-Tpdf"], input=dot.encode(), capture_output=True, check=True).stdout
        assert pdf.startswith(b"%PDF")


@pytest.mark.slow
def test_run_simulate_link_plan_then_nothing_to_do(tmp_path):
    wd = _copy_workflow(tmp_path)
    _snakemake(wd)
    plan = json.loads((tmp_path / "results" / "plan.json").read_text())
    assert len(plan["blocks"]) == 4 and plan["mosaic"]["strip_rows"] == 1
    blocks = sorted((tmp_path / "results" / "blocks").glob("small_H_??_??.fits"))
    assert [b.name for b in blocks] == [f"small_H_{x:02d}_{y:02d}.fits" for x in range(2) for y in range(2)]
    assert (tmp_path / "results" / "blocks" / "small_H_TruthCat.fits").is_file()
    report = tmp_path / "results" / "report"
    assert (report / "small_main.pdf").read_bytes().startswith(b"%PDF")
    assert (report / "small_main.tex").is_file() and (report / "small_data").is_dir()
    planned = {(o, s) for b in plan["blocks"] for o, s in b["images"]}
    for obsid, sca in planned:
        link = tmp_path / "results" / "inputs" / "simple" / f"Roman_WAS_simple_model_H158_{obsid}_{sca}.fits"
        assert link.is_symlink() and link.resolve().is_file()
    assert (tmp_path / "results" / "inputs" / "obs.fits").is_symlink()
    assert "Nothing to be done" in _snakemake(wd, "-n")
    # a new report stem rewrites the report only
    counts = _job_counts(_snakemake(wd, "-n", "--config", "report_stem=results/report/other"))
    assert counts == {"report": 1, "all": 1}
    # a solver-only edit of the PyIMCOM JSON reruns the blocks only
    cfg_path = tmp_path / ".test" / "small.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["KAPPAC"] = [1e-3]
    cfg_path.write_text(json.dumps(cfg, indent=4))
    assert _job_counts(_snakemake(wd, "-n")) == {"coadd_block": 4, "report": 1, "all": 1}
    # a new strip height re-plans without re-simulating or re-linking
    counts = _job_counts(_snakemake(wd, "-n", "--config", "strip_rows=2"))
    assert counts == {"plan": 1, "coadd_block": 4, "report": 1, "all": 1}
    # a new layer recipe rebuilds the layer files and the blocks, nothing upstream
    cfg["EXTRAINPUT"] = ["whitenoise1", "cstar14"]
    cfg_path.write_text(json.dumps(cfg, indent=4))
    counts = _job_counts(_snakemake(wd, "-n"))
    assert set(counts) == {"input_layers", "coadd_block", "truth_catalog", "report", "all"}
    assert counts["input_layers"] == len(planned)
    # a change of the mosaic area re-simulates (the survey covers the mosaic grown by INPAD)
    cfg["INPAD"] = 0.6
    cfg_path.write_text(json.dumps(cfg, indent=4))
    assert _job_counts(_snakemake(wd, "-n"))["simulate_survey"] == 1


def _real_data_config(small_survey, tmp_path, link: bool) -> dict:
    """Workflow config for the small survey treated as real data (no simulation)."""
    inputs_dir = os.path.join(small_survey["root"], "inputs")
    cfg = dict(small_survey["cfg"].to_dict())
    if link:  # the JSON points at a fresh link tree
        cfg.update(OBSFILE=str(tmp_path / "in" / "obs.fits"), INDATA=[str(tmp_path / "in"), "anlsim"])
        cfg["INPSF"] = [str(tmp_path / "in" / "psf"), "anlsim", 8]
    json_path = tmp_path / "real.json"
    json_path.write_text(json.dumps(cfg, indent=4))
    inputs = {"link": link, "obsfile": os.path.join(inputs_dir, "obs.fits"),
              "science_dir": os.path.join(inputs_dir, "simple"), "psf_dir": os.path.join(inputs_dir, "psf"),
              "labnoise_dir": os.path.join(inputs_dir, "labnoise"),
              "truth_dir": os.path.join(inputs_dir, "truth")}  # fmt: skip
    return {"pyimcom_config": str(json_path), "simulate": {"enabled": False}, "inputs": inputs}


def test_real_data_inputs_are_linked_into_the_json_layout(small_survey, tmp_path):
    ctx = WorkflowContext.from_config(_real_data_config(small_survey, tmp_path, link=True))
    links = ctx.link_map()
    n_img = len(small_survey["layout"].images)
    assert sum("/in/simple/" in d for d in links) == n_img
    assert sum("/in/labnoise/" in d for d in links) == n_img
    assert sum("/in/truth/Roman_WAS_truth_" in d for d in links) == n_img
    assert sum("/in/psf/psf_polyfit_" in d for d in links) == len(small_survey["layout"].exposures)
    assert links[os.path.normpath(str(tmp_path / "in" / "obs.fits"))].endswith("inputs/obs.fits")
    assert len(ctx.science_inputs()) == n_img and all("/in/simple/" in p for p in ctx.science_inputs())


def test_layer_inputs_name_the_files_of_the_recipes(small_survey, tmp_path):
    config = _real_data_config(small_survey, tmp_path, link=False)
    with open(config["pyimcom_config"]) as f:
        cfg = json.load(f)
    cfg["EXTRAINPUT"] = ["truth,2", "labnoise", "skyerr"]
    with open(config["pyimcom_config"], "w") as f:
        json.dump(cfg, f)
    ctx = WorkflowContext.from_config(config)
    obsid, sca = small_survey["layout"].images[0]
    files = ctx.layer_inputs(obsid, sca)
    truth = os.path.join(small_survey["root"], "inputs", "truth", f"Roman_WAS_truth_H158_{obsid}_{sca}.fits")
    lab = os.path.normpath(labnoise_path(cfg["INDATA"][0], obsid, sca))
    assert files == [ctx.science_path(obsid, sca), lab, os.path.normpath(truth)]
    assert all(os.path.exists(f) for f in files)


def test_real_data_in_place_needs_no_links(small_survey, tmp_path):
    ctx = WorkflowContext.from_config(_real_data_config(small_survey, tmp_path, link=False))
    assert ctx.link_map() == {}
    assert len(ctx.science_inputs()) == len(small_survey["layout"].images)
    assert not ctx.simulate


def test_real_data_without_sources_is_an_error(small_survey, tmp_path):
    config = _real_data_config(small_survey, tmp_path, link=True)
    del config["inputs"]["science_dir"]
    with pytest.raises(ConfigError, match="science_dir"):
        WorkflowContext.from_config(config).link_map()


@pytest.mark.slow
def test_one_block_target_builds_only_that_block(tmp_path):
    wd = _copy_workflow(tmp_path)
    out = _snakemake(wd, "results/blocks/small_H_01_00.fits")
    blocks = sorted(p.name for p in (tmp_path / "results" / "blocks").glob("*.fits"))
    assert blocks == ["small_H_01_00.fits"]
    assert "coadd_block" in out
    # the block's log says how the stamps went and when it finished
    log = (tmp_path / "logs" / "coadd_block" / "01_00.log").read_text()
    assert "stamp 4 of 4" in log and "finished at t = " in log
