"""LayerReport section: percentiles of every coadded layer over the unique regions of the mosaic.

As the reference's ``layer_diagnostics.py`` (layers spec §4.4): for each layer (``SCI`` then the
``EXTRAINPUT`` entries), the percentiles `PERCENTILES` of the unique region of output PSF 0 pooled
over all blocks, with numpy's ``'linear'`` interpolation.  Departures: missing blocks are skipped
and counted (the reference fills them with zeros, which biases the percentiles); non-finite pixels
are excluded and counted; memory is bounded (`pyimcom.diagnostics.percentiles`: a few passes over
the blocks, one block in memory at a time, instead of one array holding a layer of the whole mosaic).

Data block (the reference's format, so its parsers work): groups of up to 6 layers, each a header
``# PCTILE |`` + ``  LAYER %02d `` per layer, then one row per percentile, ``%7.3f   `` followed by
`` %10.3E`` per layer, a blank line between groups; then comment lines with the counts.
"""

from __future__ import annotations

import numpy as np

from .content import FAIL, NOT_APPLICABLE, PASS, Items, Paragraph, SectionResult
from .percentiles import StreamingPercentiles

__all__ = ["NAME", "PERCENTILES", "LAYERS_PER_TABLE", "layer_percentiles", "format_table", "build"]

NAME = "LayerReport"
PERCENTILES = (0.0, 0.01, 0.1, 1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0, 99.9, 99.99, 100.0)
LAYERS_PER_TABLE = 6


def layer_percentiles(ctx, percentiles=PERCENTILES, max_gather: int = 2**22) -> dict:
    """Percentiles of every layer over the unique regions of the existing blocks.

    Parameters
    ----------
    ctx : pyimcom.diagnostics.context.ReportContext
        The mosaic.
    percentiles : sequence of float
        Percentiles [%]. Default: `PERCENTILES`.
    max_gather : int
        Memory bound, values per bracketing interval (`StreamingPercentiles`). Default: 2**22.

    Returns
    -------
    dict
        ``'values'``: float64 ``(n_layer, n_pct)`` (NaN for a layer without finite pixels);
        ``'n_finite'``, ``'n_nonfinite'``: int arrays ``(n_layer,)``; ``'blocks_used'``: number of
        block files read; ``'passes'``: passes over the blocks.
    """
    layers = list(range(ctx.n_layer))
    acc = StreamingPercentiles(layers, percentiles, max_gather=max_gather)
    while not acc.done:
        for ibx, iby in ctx.present_blocks:
            for k, image in ctx.iter_unique_layers(ibx, iby):
                acc.feed(k, image)
        acc.end_pass()
    return {
        "values": np.array([acc.result(k) for k in layers]).reshape(len(layers), len(percentiles)),
        "n_finite": np.array([acc.n_finite[k] for k in layers], dtype=np.int64),
        "n_nonfinite": np.array([acc.n_nonfinite[k] for k in layers], dtype=np.int64),
        "blocks_used": len(ctx.present_blocks),
        "passes": acc.passes,
    }


def format_table(values: np.ndarray, percentiles=PERCENTILES, per_table: int = LAYERS_PER_TABLE) -> str:
    """Format the percentile table in the reference's layout.

    Parameters
    ----------
    values : numpy.ndarray
        ``(n_layer, n_pct)`` percentile values.
    percentiles : sequence of float
        The percentiles of the columns of ``values``. Default: `PERCENTILES`.
    per_table : int
        Layers per group. Default: 6.

    Returns
    -------
    str
        The groups, separated by blank lines.

    Examples
    --------
    >>> format_table(np.array([[1.0, 2.0]]), percentiles=(0, 100)).splitlines()
    ['# PCTILE |  LAYER 00', '  0.000     1.000E+00', '100.000     2.000E+00']
    """
    groups = []
    for start in range(0, values.shape[0], per_table):
        cols = range(start, min(start + per_table, values.shape[0]))
        lines = ["# PCTILE |" + "".join(f"  LAYER {k:02d}" for k in cols)]
        for i, p in enumerate(percentiles):
            lines.append(f"{p:7.3f}   " + "".join(f" {values[k, i]:10.3E}" for k in cols))
        groups.append("\n".join(lines))
    return "\n\n".join(groups)


def build(ctx) -> SectionResult:
    """Build the LayerReport section.

    Parameters
    ----------
    ctx : pyimcom.diagnostics.context.ReportContext
        The mosaic.

    Returns
    -------
    SectionResult
        Data: ``PERCENTILES``, ``LAYERS`` (names), ``VALUES`` (list of per-layer lists),
        ``N_FINITE``, ``N_NONFINITE``, ``BLOCKS_USED``, ``BLOCKS_MISSING``.  Status: PASS when every
        layer has only finite pixels, FAIL otherwise, N/A without blocks.
    """
    names = ctx.layer_names
    n_missing = len(ctx.missing_blocks)
    res = layer_percentiles(ctx)
    table = format_table(res["values"])
    counts = (
        f"# BLOCKS_USED {res['blocks_used']:d} BLOCKS_MISSING {n_missing:d}\n"
        + "# N_FINITE " + " ".join(str(int(v)) for v in res["n_finite"]) + "\n"
        + "# N_NONFINITE " + " ".join(str(int(v)) for v in res["n_nonfinite"])
    )  # fmt: skip
    bad = [names[k] for k in range(len(names)) if res["n_nonfinite"][k] > 0]
    blocks = [
        Paragraph(
            f"Percentiles of each coadded layer (output PSF 0) over the unique regions of the "
            f"{res['blocks_used']} existing blocks; {n_missing} missing block(s) were skipped, not "
            "counted as zeros. The layers are:"
        ),
        Items(tuple(f"[{k:2d}] {name}" for k, name in enumerate(names)), monospace=True),
        Paragraph(
            f"Threshold: PASS when every pixel of every layer is finite. The percentiles are in the "
            f"data block below, in tables of at most {LAYERS_PER_TABLE} layers (columns) with one row per "
            "percentile."
        ),
    ]
    if bad:
        blocks.append(
            Paragraph("Layers with non-finite pixels (excluded from the percentiles): " + ", ".join(bad))
        )
    data = {
        "PERCENTILES": list(PERCENTILES),
        "LAYERS": names,
        "VALUES": res["values"].tolist(),
        "N_FINITE": res["n_finite"].tolist(),
        "N_NONFINITE": res["n_nonfinite"].tolist(),
        "BLOCKS_USED": res["blocks_used"],
        "BLOCKS_MISSING": n_missing,
    }
    if res["blocks_used"] == 0:
        status, note = NOT_APPLICABLE, "no block file found"
    elif bad:
        status, note = FAIL, f"non-finite pixels in {len(bad)} layer(s)"
    else:
        status, note = PASS, f"{res['blocks_used']} blocks, {n_missing} missing skipped" if n_missing else ""
    return SectionResult(NAME, "Layer statistics", blocks, [], data, table + "\n\n" + counts, status, note)
