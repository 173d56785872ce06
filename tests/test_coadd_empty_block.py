"""A block that no input image overlaps: the coadd writes an explicit empty block, the report skips it."""

from __future__ import annotations

import json
import os

import numpy as np
from astropy.io import fits

from pyimcom.coadd import BlockJob
from pyimcom.config import Config
from pyimcom.diagnostics.context import ReportContext
from pyimcom.io.outimage import OutImage


def test_uncovered_block_writes_an_empty_block_and_the_report_counts_it_missing(small_survey, tmp_path):
    d = json.loads(small_survey["cfg"].to_file(None))
    d.update(OUT=str(tmp_path / "blocks" / "e_H"), INLAYERCACHE="")
    cfg = Config(json.dumps(d))
    job = BlockJob.from_config(cfg, 0, 0, images=[])  # as the plan says for a block outside the survey
    result, relevant = job.run()
    path = job.write(result, relevant)
    assert relevant == [] and os.path.basename(path) == "e_H_00_00.fits"
    out = OutImage(path)
    assert len(out.indata()) == 0
    assert not np.any(out.get_coadded_layer("SCI"))  # no data: all zero, not NaN
    np.testing.assert_allclose(out.get_output_map("T"), 0.0)  # no weight anywhere
    with fits.open(path) as hdul:
        assert hdul["INDATA"].header["NAXIS2"] == 0
    # the report sees it as missing, not as a block of zeros
    ctx = ReportContext.open(path, str(tmp_path / "rep" / "rep"))
    assert (0, 0) in ctx.missing_blocks and (0, 0) not in ctx.present_blocks
