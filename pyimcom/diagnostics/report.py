"""The validation report: title, Summary, one part per section, configuration appendix, PDF.

Layers spec §4.1-4.2.  `run_report` opens the mosaic (`ReportContext.open`), builds each section of
`SECTIONS` in order -- MosaicImage, LayerReport, SimulatedStar, NoiseReport -- and writes

* ``<dstem>_main.tex``: the LaTeX source; every section is followed by its machine-readable data
  block (``$$$START <Section>`` ... ``$$$END <Section>`` inside ``verbatim``);
* ``<dstem>_data/``: figures and data files, all named ``<basename(dstem)>_...``, plus
  ``<basename(dstem)>_report.json`` with every section's status and data dictionary;
* ``<dstem>_main.pdf``: compiled with ``pdflatex`` when it is on ``PATH``, otherwise rendered from the
  same content with matplotlib and a `PyIMCOMWarning` (`pyimcom.diagnostics.pdf`).

The Summary gives the band, the projection centre and one line per section,
``<name padded to 16>:<PASS|FAIL|N/A>`` followed by a short note; each section states its threshold.
A section whose ingredient is missing (no gsstar layer, PAD = 0, missing blocks, no noise layer)
says what it skipped and why; the report does not stop for it.

A section is a module with ``NAME`` and ``build(ctx) -> SectionResult`` plus plain statistics
functions that can be tested without LaTeX.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import os
from dataclasses import dataclass

import numpy as np

from ..io.atomic import atomic_write_text
from . import layerreport, mosaicimage, noisereport, stars
from .content import FigureRef, Paragraph, SectionResult, Verbatim, format_data_block, tex_escape
from .context import ReportContext
from .pdf import write_pdf

__all__ = ["SECTIONS", "ReportOutputs", "summary_text", "report_tex", "run_report"]

logger = logging.getLogger(__name__)

#: Section modules in report order.
SECTIONS = (mosaicimage, layerreport, stars, noisereport)

_PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage{graphicx}
\setlength{\textwidth}{468pt}
\setlength{\textheight}{648pt}
\setlength{\hoffset}{0pt}
\setlength{\voffset}{0pt}
\setlength{\topmargin}{-23pt}
\setlength{\headheight}{12pt}
\setlength{\headsep}{23pt}
\setlength{\oddsidemargin}{0pt}
\setlength{\evensidemargin}{0pt}
\setcounter{topnumber}{3}
\renewcommand{\topfraction}{0.95}
\renewcommand{\textfraction}{0.05}
\renewcommand{\floatpagefraction}{0.8}
"""

_STATUS_KEY = (
    "PASS: the section's threshold (stated in the section) is met. FAIL: it is not. "
    "N/A: no threshold applies, or the section was skipped because an ingredient is missing."
)


@dataclass(frozen=True)
class ReportOutputs:
    """Paths and results of a report run.

    Attributes
    ----------
    tex, pdf, data_dir, json : str
        ``<dstem>_main.tex``, ``<dstem>_main.pdf``, ``<dstem>_data`` and the JSON summary.
    pdf_engine : str
        ``'pdflatex'`` or ``'matplotlib'``.
    results : tuple of SectionResult
        The sections, in report order.
    summary : str
        The Summary lines (projection centre, one status line per section).
    """

    tex: str
    pdf: str
    data_dir: str
    json: str
    pdf_engine: str
    results: tuple
    summary: str


def summary_text(ctx: ReportContext, results) -> str:
    """Verbatim Summary text: projection centre and one status line per section.

    Examples
    --------
    A line looks like ``'SimulatedStar   :PASS  RMS_ELLIP_ADAPT = 1.2e-05'``.
    """
    c = ctx.cfg
    lines = [f"RA = {c.ra:8.4f}    DEC = {c.dec:8.4f}    LONPOLE = {c.lonpole:8.4f}"]
    for r in results:
        lines.append(f"{r.name[:16]:<16s}:{r.status}" + (f"  {r.note}" if r.note else ""))
    return "\n".join(lines)


def _blocks_with_data(r: SectionResult) -> list:
    return [
        *r.blocks,
        Paragraph("Machine-readable data:"),
        Verbatim(format_data_block(r.name, r.data_text), small=True),
    ]


def report_tex(ctx: ReportContext, results, date: str) -> str:
    """Assemble the LaTeX source of the report.

    Parameters
    ----------
    ctx : ReportContext
        The mosaic.
    results : sequence of SectionResult
        Built sections.
    date : str
        Date shown on the title page.

    Returns
    -------
    str
        Complete LaTeX document.
    """
    parts = [
        _PREAMBLE,
        "\\title{IMCOM Validation report}\n",
        f"\\date{{{tex_escape(date)}}}\n\\begin{{document}}\n\\maketitle\n\\tableofcontents\n\n",
        f"\\section{{Summary}}\nBand: {tex_escape(ctx.filter_name)}; mosaic {tex_escape(ctx.stem)} "
        f"({ctx.nblock} x {ctx.nblock} blocks used).\n\n",
        "\\begin{verbatim}\n" + summary_text(ctx, results) + "\n\\end{verbatim}\n",
        tex_escape(_STATUS_KEY) + "\n\n",
    ]
    for r in results:
        parts.append(r.tex)
        parts.append("Machine-readable data:\n{\\scriptsize\n\\begin{verbatim}\n")
        parts.append(format_data_block(r.name, r.data_text) + "\n\\end{verbatim}}\n\n")
    parts.append(
        "\\appendix\n\\section{Configuration file}\n\\label{app:config}\n{\\scriptsize\n\\begin{verbatim}\n"
    )
    parts.append(ctx.cfg.to_file(None).encode("ascii", "replace").decode("ascii") + "\n\\end{verbatim}}\n")
    parts.append("\\end{document}\n")
    return "".join(parts)


def _document(ctx: ReportContext, results, date: str) -> list:
    """The report as ``(title, blocks)`` pairs for the TeX-free renderer (figure paths made usable)."""

    def fix(b):
        return (
            FigureRef(os.path.join(ctx.writeup_dir, b.path), b.caption, b.width_in)
            if isinstance(b, FigureRef)
            else b
        )

    doc = [
        (
            "IMCOM Validation report",
            [Paragraph(date), Paragraph(f"Band: {ctx.filter_name}; mosaic {ctx.stem}.")],
        ),
        ("Summary", [Verbatim(summary_text(ctx, results)), Paragraph(_STATUS_KEY)]),
    ]
    doc += [(r.title, [fix(b) for b in _blocks_with_data(r)]) for r in results]
    doc.append(("Configuration file", [Verbatim(ctx.cfg.to_file(None), small=True)]))
    return doc


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _clear_old_products(ctx: ReportContext) -> None:
    """Remove files of a previous run of the same stem from the data directory."""
    if not os.path.isdir(ctx.data_dir):
        return
    for name in os.listdir(ctx.data_dir):
        path = os.path.join(ctx.data_dir, name)
        if name.startswith(ctx.title_stem + "_") and os.path.isfile(path):
            os.remove(path)


def run_report(
    block_file, dstem, nblockmax: int = 100, latex: bool | None = None, sections=SECTIONS
) -> ReportOutputs:
    """Build the whole report.

    Parameters
    ----------
    block_file : str or os.PathLike
        Any block output file of the mosaic, e.g. ``out/demo_H_00_00.fits``.
    dstem : str or os.PathLike
        Write-up stem ``<writeupdir>/<writeupstem>``.
    nblockmax : int
        Use at most this many blocks per side. Default: 100.
    latex : bool or None
        True: require pdflatex; False: render the PDF without LaTeX; None: pdflatex if installed
        (otherwise warn and render without it). Default: None.
    sections : sequence of module
        Section modules (each with ``NAME`` and ``build(ctx)``). Default: `SECTIONS`.

    Returns
    -------
    ReportOutputs

    Raises
    ------
    PyIMCOMValueError, InputFileError, ConfigError
        If the block file or stem is unusable (see `ReportContext.open`).
    PyIMCOMError
        If pdflatex fails (the message quotes the LaTeX log) or a file cannot be written.
    """
    ctx = ReportContext.open(block_file, dstem, nblockmax)
    _clear_old_products(ctx)
    os.makedirs(ctx.data_dir, exist_ok=True)
    results = []
    for module in sections:
        logger.info("building report section %s", module.NAME)
        results.append(module.build(ctx))
        logger.info("section %s: %s %s", module.NAME, results[-1].status, results[-1].note)
    date = datetime.date.today().isoformat()
    tex_path = atomic_write_text(report_tex(ctx, results, date), ctx.dstem + "_main.tex")
    summary = {r.name: {"status": r.status, "note": r.note} for r in results}
    payload = {"summary": summary, "sections": {r.name: r.data for r in results}}
    json_path = atomic_write_text(json.dumps(_jsonable(payload), indent=2), ctx.data_path("report.json"))
    pdf_path = ctx.dstem + "_main.pdf"
    engine = write_pdf(tex_path, pdf_path, _document(ctx, results, date), use_latex=latex)
    return ReportOutputs(
        tex_path, pdf_path, ctx.data_dir, json_path, engine, tuple(results), summary_text(ctx, results)
    )
