"""End-to-end tests of the diagnostic report on tiny synthetic mosaics (no coadd needed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from test_diagnostics_synth import EXTRA, SIGMA_OUT, make_mosaic

from pyimcom.diagnostics import parse_data_blocks, run_report
from pyimcom.diagnostics.pdf import compile_latex
from pyimcom.diagnostics.run import main
from pyimcom.errors import PyIMCOMError, PyIMCOMWarning

HAVE_PDFLATEX = shutil.which("pdflatex") is not None
SECTION_NAMES = ["MosaicImage", "LayerReport", "SimulatedStar", "NoiseReport"]


def is_pdf(path) -> bool:
    with open(path, "rb") as f:
        return f.read(5) == b"%PDF-" and os.path.getsize(path) > 1000


@pytest.fixture(scope="module")
def full_report(tmp_path_factory):
    """The full 2 x 2 mosaic with every ingredient, reported once (pdflatex when installed).

    Paths are relative to the working directory, as on the command line.
    """
    root = tmp_path_factory.mktemp("full")
    m = make_mosaic(root)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        out = run_report(os.path.relpath(m["first"], root), os.path.join("writeup", "rep"))
        with open(out.tex) as f:
            tex = f.read()
    finally:
        os.chdir(cwd)
    return m, out, tex, str(root)


def test_outputs_and_every_section(full_report):
    _, out, tex, root = full_report
    assert out.tex == os.path.join("writeup", "rep_main.tex")
    assert os.path.isdir(os.path.join(root, out.data_dir)) and is_pdf(os.path.join(root, out.pdf))
    assert out.pdf_engine == ("pdflatex" if HAVE_PDFLATEX else "matplotlib")
    for title in (
        "Summary",
        "Mosaic image",
        "Layer statistics",
        "Simulated star section",
        "Injected noise layers",
    ):
        assert f"\\section{{{title}}}" in tex
    assert "\\section{Configuration file}" in tex and '"EXTRAINPUT"' in tex
    for r in out.results:
        assert r.status == "PASS", (r.name, r.note)
        for fig in r.figures:
            assert os.path.getsize(os.path.join(root, fig)) > 1000
    assert [line.split(":")[0].strip() for line in out.summary.splitlines()[1:]] == SECTION_NAMES
    names = os.listdir(os.path.join(root, out.data_dir))
    assert all(n.startswith("rep_") for n in names) and not any(n.startswith(".") for n in names)
    for suffix in (
        "mosaic.png",
        "SimulatedStar_StarCat.txt",
        "SimulatedStar_dynrange.dat",
        "H_alpha_0.9_ps_avg.fits",
    ):
        assert f"rep_{suffix}" in names


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_pdf_text_shows_summary_statistics(full_report):
    _, out, _, root = full_report
    text = subprocess.run(["pdftotext", os.path.join(root, out.pdf), "-"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    for name in SECTION_NAMES:
        assert name in text
    for stat in ("RMS_ELLIP_ADAPT", "RMS_SIZE_ERR", "PCT_NOISE_GT2", "MED_SIZE"):
        assert stat in text
    assert "Figure" in text  # captions of the embedded figures


def test_data_blocks_parse_back(full_report):
    _, out, tex, root = full_report
    blocks = parse_data_blocks(tex)
    assert list(blocks) == SECTION_NAMES
    res = {r.name: r.data for r in out.results}
    assert blocks["MosaicImage"].startswith("N =  2, BIN =   1\n")
    # LayerReport: the reference's token layout; every table value is the section's number to 4 digits
    tokens = blocks["LayerReport"].split()
    n_layer = len(res["LayerReport"]["LAYERS"])
    values = np.array(res["LayerReport"]["VALUES"])
    row_len = 1 + n_layer
    for i in range(len(res["LayerReport"]["PERCENTILES"])):
        row = tokens[3 + 2 * n_layer + i * row_len : 3 + 2 * n_layer + (i + 1) * row_len]
        assert float(row[0]) == pytest.approx(res["LayerReport"]["PERCENTILES"][i], abs=5e-4)
        np.testing.assert_allclose([float(t) for t in row[1:]], values[:, i], rtol=6e-4)
    # SimulatedStar: "KEY value" lines with the exact numbers
    star = dict(line.split() for line in blocks["SimulatedStar"].splitlines())
    assert next(iter(star)) == "RMS_ELLIP_ADAPT"
    for key, text in star.items():
        assert float(text) == pytest.approx(res["SimulatedStar"][key], rel=1e-15, nan_ok=True)
    assert res["SimulatedStar"]["MED_SIZE"] == pytest.approx(SIGMA_OUT, rel=1e-5)
    assert res["SimulatedStar"]["RMS_ELLIP_ADAPT"] < 1e-5 and res["SimulatedStar"]["N_HSM_FAILED"] == 0
    # NoiseReport: LAYERnn <name> <variance>
    lines = [ln.split() for ln in blocks["NoiseReport"].splitlines() if ln.startswith("LAYER")]
    assert [ln[:2] for ln in lines] == [["LAYER00", "whitenoise1"]]
    assert float(lines[0][2]) == pytest.approx(res["NoiseReport"]["VARIANCE"][0], rel=1e-5)
    assert res["NoiseReport"]["VARIANCE"][0] == pytest.approx(res["NoiseReport"]["SIGMA_LEVEL"], rel=0.05)
    assert 0 < res["NoiseReport"]["VARIANCE_ERR"][0] < 0.05 * res["NoiseReport"]["VARIANCE"][0]
    with open(os.path.join(root, out.json)) as f:
        saved = json.load(f)
    assert saved["summary"]["SimulatedStar"]["status"] == "PASS"
    np.testing.assert_allclose(saved["sections"]["LayerReport"]["VALUES"], values, rtol=1e-15)


def test_no_pdflatex_gives_pdf_with_warning(tmp_path, monkeypatch, capsys):
    m = make_mosaic(tmp_path, nblock=1, pad=0)
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    stem = str(tmp_path / "w" / "nolatex")
    with pytest.warns(PyIMCOMWarning, match="pdflatex is not installed"):
        assert main([m["first"], stem, "--quiet"]) == 0
    assert is_pdf(stem + "_main.pdf") and os.path.isfile(stem + "_main.tex")
    assert "SimulatedStar   :" in capsys.readouterr().out
    with open(stem + "_main.tex") as f:
        tex = f.read()
    # PAD = 0: noisy-star profiles skipped and stamps crossing the block edge flagged, with the reason
    assert "profiles skipped: PAD = 0" in tex and "cross the edge of the block array" in tex
    with pytest.raises(PyIMCOMError, match="pdflatex is not on PATH"):
        run_report(m["first"], stem, latex=True)


def test_missing_gsstar_and_missing_block(tmp_path):
    m = make_mosaic(tmp_path, extra=["whitenoise1", "1fnoise2"], skip=[(1, 0)])
    out = run_report(m["paths"][(0, 1)], str(tmp_path / "w" / "rep"), latex=False)
    status = {r.name: (r.status, r.note) for r in out.results}
    assert status["SimulatedStar"][0] == "N/A" and "no gsstar" in status["SimulatedStar"][1]
    assert status["MosaicImage"] == ("FAIL", "1 of 4 blocks missing")
    with open(out.tex) as f:
        tex = f.read()
    assert "Skipped: no gsstar\\textless{}n\\textgreater{} layer" in tex
    assert "Missing blocks (ibx, iby): (1, 0)" in tex and "1 missing block(s) skipped" in tex
    data = {r.name: r.data for r in out.results}
    assert data["LayerReport"]["BLOCKS_USED"] == 3 and data["LayerReport"]["BLOCKS_MISSING"] == 1
    assert data["NoiseReport"]["BLOCKS_USED"] == 3 and data["NoiseReport"]["LAYERS"] == [
        "whitenoise1",
        "1fnoise2",
    ]
    assert parse_data_blocks(tex)["SimulatedStar"].startswith("SKIPPED")
    assert data["LayerReport"]["N_FINITE"][0] == 3 * 128**2  # missing block not zero-filled
    assert len(EXTRA) == 3


@pytest.mark.skipif(not HAVE_PDFLATEX, reason="pdflatex is not installed")
def test_latex_error_raises_with_log_tail(tmp_path):
    tex = tmp_path / "bad_main.tex"
    tex.write_text("\\documentclass{article}\n\\begin{document}\n\\undefinedmacroxyz\n\\end{document}\n")
    with pytest.raises(PyIMCOMError, match=r"(?s)pdflatex failed.*Undefined control sequence"):
        compile_latex(str(tex), str(tmp_path / "bad_main.pdf"), shutil.which("pdflatex"))
    assert not os.path.exists(tmp_path / "bad_main.pdf")
    assert [p for p in os.listdir(tmp_path) if p != "bad_main.tex"] == []


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "block_file" in text and "--nblockmax" in text and "--latex" in text
