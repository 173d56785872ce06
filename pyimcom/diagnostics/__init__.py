"""Diagnostic (validation) report of a coadded mosaic (layers spec §4).

Command line::

    python3 -m pyimcom.diagnostics.run outdir/outstem_00_00.fits writeupdir/writeupstem

writes ``writeupstem_main.tex``, ``writeupstem_data/`` and ``writeupstem_main.pdf``.  From Python use
`run_report`; each section (`pyimcom.diagnostics.mosaicimage`, ``layerreport``, ``stars``,
``noisereport``) exposes its statistics functions and a ``build(ctx)``.
"""

from .content import SectionResult, parse_data_blocks
from .context import ReportContext
from .report import SECTIONS, ReportOutputs, run_report

__all__ = ["run_report", "ReportOutputs", "ReportContext", "SectionResult", "parse_data_blocks", "SECTIONS"]
