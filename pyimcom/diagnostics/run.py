"""Command line of the diagnostic report.

Usage::

    python3 -m pyimcom.diagnostics.run <block file> <write-up stem> [<tmp dir>] [--nblockmax N]
        [--latex {auto,always,never}] [--quiet]

``<block file>`` is any block of the mosaic (``out/demo_H_00_00.fits``; the name must end with the
two-digit block indices); ``<write-up stem>`` is ``<writeupdir>/<writeupstem>``.  The optional third
argument of the reference (a scratch directory) is accepted and not needed: statistics are computed
block by block in bounded memory.  `main` returns 0 on success and prints the Summary lines.

From a Snakemake rule: ``shell: "python3 -m pyimcom.diagnostics.run {input.block} {params.stem}"``,
or in a script ``from pyimcom.diagnostics.run import main; main([block, stem])``.
"""

from __future__ import annotations

import argparse
import logging
import sys

from .report import run_report

__all__ = ["build_parser", "main"]

_LATEX_CHOICES = {"auto": None, "always": True, "never": False}


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the report command line."""
    p = argparse.ArgumentParser(
        prog="python3 -m pyimcom.diagnostics.run",
        description="Write the IMCOM validation report (LaTeX source, data directory and PDF) of a mosaic.",
    )
    p.add_argument("block_file", help="any block output file of the mosaic, e.g. out/demo_H_00_00.fits")
    p.add_argument(
        "dstem", help="write-up stem <writeupdir>/<writeupstem>; writes <dstem>_main.tex/.pdf, <dstem>_data/"
    )
    p.add_argument(
        "tmp_dir", nargs="?", default=None, help="accepted for compatibility with the reference; unused"
    )
    p.add_argument(
        "--nblockmax", type=int, default=100, help="use at most N x N blocks (lower left); default 100"
    )
    p.add_argument(
        "--latex", choices=sorted(_LATEX_CHOICES), default="auto",
        help="auto: pdflatex if installed, else a TeX-free PDF with a warning (default); always; never",
    )  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="log warnings only")
    return p


def main(argv=None) -> int:
    """Run the report command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name. Default: ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success (errors raise).
    """
    args = build_parser().parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.WARNING if args.quiet else logging.INFO,
            format="%(levelname)s %(name)s: %(message)s",
        )
    out = run_report(args.block_file, args.dstem, nblockmax=args.nblockmax, latex=_LATEX_CHOICES[args.latex])
    sys.stdout.write(out.summary + "\n")
    sys.stdout.write(f"wrote {out.tex}, {out.pdf} ({out.pdf_engine}) and {out.data_dir}/\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
