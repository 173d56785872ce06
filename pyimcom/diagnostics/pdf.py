"""Producing the report PDF: ``pdflatex`` when it is installed, otherwise matplotlib text pages.

`compile_latex` runs ``pdflatex`` (looked up on ``PATH`` with `shutil.which` before anything is
run) in the write-up directory, twice so that the table of contents is filled in, with all auxiliary
files in a private temporary directory; the PDF is renamed into place only when LaTeX succeeded.  A
LaTeX error raises `PyIMCOMError` quoting the end of the LaTeX log; nothing is swallowed.

`render_without_latex` draws the same content blocks (`pyimcom.diagnostics.content`) on letter-size
pages with matplotlib's PDF backend: text wrapped to the page, figures embedded from their PNG files,
verbatim blocks in a monospace font.  `write_pdf` chooses between the two and warns
(`PyIMCOMWarning`) when it has to fall back.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import textwrap
import warnings

import matplotlib
import matplotlib.image as mpimg
from matplotlib.backends.backend_pdf import PdfPages

from ..errors import PyIMCOMError, PyIMCOMWarning
from ._util import NO_TEX_RC, atomic_path, new_figure
from .content import FigureRef, Heading, Items, Paragraph, Verbatim

__all__ = ["find_pdflatex", "compile_latex", "render_without_latex", "write_pdf", "LOG_TAIL_LINES"]

logger = logging.getLogger(__name__)

LOG_TAIL_LINES = 40  # lines of the LaTeX log quoted in an error message
_PAGE_W_IN, _PAGE_H_IN, _MARGIN_IN = 8.5, 11.0, 0.75  # letter page and margins [inch]
_LATEX_TIMEOUT_S = 300  # wall-clock limit of one pdflatex run [s]


def find_pdflatex() -> str | None:
    """Return the path of ``pdflatex`` on ``PATH``, or None if it is not installed."""
    return shutil.which("pdflatex")


def _log_tail(workdir: str, jobname: str, stdout: str) -> str:
    log = os.path.join(workdir, jobname + ".log")
    try:
        with open(log, encoding="latin-1") as f:
            text = f.read()
    except OSError:
        text = stdout
    return "\n".join(text.splitlines()[-LOG_TAIL_LINES:])


def compile_latex(tex_path: str, pdf_path: str, pdflatex: str, ntimes: int = 2) -> str:
    """Compile a .tex file with pdflatex into ``pdf_path``.

    Parameters
    ----------
    tex_path : str
        The LaTeX source; relative figure paths in it are relative to its directory.
    pdf_path : str
        Destination PDF (normally ``<dstem>_main.pdf``), replaced atomically on success.
    pdflatex : str
        Path of the pdflatex executable (`find_pdflatex`).
    ntimes : int
        Number of runs (2 resolves the table of contents). Default: 2.

    Returns
    -------
    str
        ``pdf_path``.

    Raises
    ------
    PyIMCOMError
        If pdflatex exits with an error, times out or writes no PDF; the message quotes the last
        `LOG_TAIL_LINES` lines of the LaTeX log.
    """
    workdir = os.path.dirname(os.path.abspath(tex_path))
    jobname = os.path.splitext(os.path.basename(tex_path))[0]
    auxdir = tempfile.mkdtemp(prefix=f"{jobname}_latex_", dir=workdir)
    cmd = [
        pdflatex,
        "-interaction=nonstopmode",
        "-halt-on-error",
        f"-output-directory={auxdir}",
        jobname + ".tex",
    ]
    try:
        for run in range(ntimes):
            try:
                proc = subprocess.run(
                    cmd,
                    cwd=workdir,
                    capture_output=True,
                    text=True,
                    errors="replace",
                    timeout=_LATEX_TIMEOUT_S,
                )
            except subprocess.TimeoutExpired as exc:
                raise PyIMCOMError(f"pdflatex on {tex_path} timed out after {_LATEX_TIMEOUT_S} s") from exc
            if proc.returncode != 0:
                tail = _log_tail(auxdir, jobname, proc.stdout)
                raise PyIMCOMError(
                    f"pdflatex failed on {tex_path} (run {run + 1}, exit status {proc.returncode}); "
                    f"end of the LaTeX log:\n{tail}"
                )
        built = os.path.join(auxdir, jobname + ".pdf")
        if not os.path.isfile(built):
            raise PyIMCOMError(
                f"pdflatex wrote no PDF for {tex_path}:\n{_log_tail(auxdir, jobname, proc.stdout)}"
            )
        os.replace(built, pdf_path)
        os.replace(os.path.join(auxdir, jobname + ".log"), os.path.splitext(pdf_path)[0] + ".log")
    finally:
        shutil.rmtree(auxdir, ignore_errors=True)
    logger.info("pdflatex wrote %s", pdf_path)
    return pdf_path


class _PageWriter:
    """Lays out text lines and images top to bottom on successive matplotlib pages."""

    def __init__(self, pdf: PdfPages):
        self.pdf = pdf
        self.fig = None
        self.y_in = 0.0

    def _new_page(self):
        self.flush()
        self.fig = new_figure(_PAGE_W_IN, _PAGE_H_IN)
        self.y_in = _PAGE_H_IN - _MARGIN_IN

    def flush(self):
        if self.fig is not None:
            self.pdf.savefig(self.fig)
            self.fig = None

    def _room(self, height_in: float):
        if self.fig is None or self.y_in - height_in < _MARGIN_IN:
            self._new_page()

    def text(self, line: str, size: float = 10, family: str = "sans-serif", weight: str = "normal"):
        height_in = size * 1.35 / 72.0
        self._room(height_in)
        self.y_in -= height_in
        self.fig.text(
            _MARGIN_IN / _PAGE_W_IN, self.y_in / _PAGE_H_IN, line, fontsize=size, family=family, weight=weight
        )

    def gap(self, height_in: float = 0.12):
        self.y_in -= height_in

    def image(self, path: str, width_in: float):
        img = mpimg.imread(path)
        ny, nx = img.shape[:2]
        width_in = min(width_in, _PAGE_W_IN - 2 * _MARGIN_IN)
        height_in = width_in * ny / nx
        if height_in > _PAGE_H_IN - 2 * _MARGIN_IN:
            height_in = _PAGE_H_IN - 2 * _MARGIN_IN
            width_in = height_in * nx / ny
        self._room(height_in)
        self.y_in -= height_in
        left = (_PAGE_W_IN - width_in) / 2
        ax = self.fig.add_axes(
            (left / _PAGE_W_IN, self.y_in / _PAGE_H_IN, width_in / _PAGE_W_IN, height_in / _PAGE_H_IN)
        )
        ax.imshow(img, interpolation="nearest")
        ax.set_axis_off()


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width) or [""]


def render_without_latex(document, pdf_path: str) -> str:
    """Render a report document to PDF with matplotlib only (no TeX installation needed).

    Parameters
    ----------
    document : list of tuple
        ``(title, blocks)`` pairs, one per top-level section, in order; ``blocks`` are content blocks
        of `pyimcom.diagnostics.content` whose figure paths are absolute or relative to the
        current directory.
    pdf_path : str
        Destination PDF, written atomically.

    Returns
    -------
    str
        ``pdf_path``.
    """
    with matplotlib.rc_context(NO_TEX_RC), atomic_path(pdf_path) as tmp, PdfPages(tmp) as pdf:
        page = _PageWriter(pdf)
        for number, (title, blocks) in enumerate(document, start=1):
            page.gap(0.2)
            page.text(f"{number}  {title}", size=14, weight="bold")
            page.gap()
            for b in blocks:
                if isinstance(b, Heading):
                    page.gap()
                    page.text(b.text, size=12, weight="bold")
                elif isinstance(b, Paragraph):
                    for line in _wrap(b.text, 95):
                        page.text(line)
                    page.gap()
                elif isinstance(b, Items):
                    family = "monospace" if b.monospace else "sans-serif"
                    for item in b.items:
                        for k, line in enumerate(_wrap(item, 88)):
                            page.text(("  * " if k == 0 else "    ") + line, family=family)
                    page.gap()
                elif isinstance(b, FigureRef):
                    page.image(b.path, b.width_in)
                    for line in _wrap("Figure: " + b.caption, 105):
                        page.text(line, size=8.5)
                    page.gap()
                elif isinstance(b, Verbatim):
                    size = 6.5 if b.small else 7.5
                    for line in b.text.rstrip().splitlines():
                        page.text(line.expandtabs(), size=size, family="monospace")
                    page.gap()
        page.flush()
    logger.info("wrote %s without LaTeX", pdf_path)
    return pdf_path


def write_pdf(tex_path: str, pdf_path: str, document, use_latex: bool | None = None) -> str:
    """Produce the report PDF with pdflatex if available, else without LaTeX (and warn).

    Parameters
    ----------
    tex_path : str
        The written LaTeX source.
    pdf_path : str
        Destination PDF.
    document : list of tuple
        The same content for `render_without_latex` (figure paths relative to the current
        directory or absolute).
    use_latex : bool or None
        True: require pdflatex; False: never use it; None: use it when it is on ``PATH``.
        Default: None.

    Returns
    -------
    str
        ``'pdflatex'`` or ``'matplotlib'``: how the PDF was made.

    Raises
    ------
    PyIMCOMError
        If ``use_latex`` is True and pdflatex is not on ``PATH``, or LaTeX fails.
    """
    pdflatex = find_pdflatex() if use_latex is not False else None
    if pdflatex is not None:
        compile_latex(tex_path, pdf_path, pdflatex)
        return "pdflatex"
    if use_latex is False:
        render_without_latex(document, pdf_path)
        return "matplotlib"
    if use_latex:
        raise PyIMCOMError(
            "pdflatex is not on PATH; install TeX Live (texlive-latex-base) or use latex='never'"
        )
    warnings.warn(
        f"pdflatex is not installed (not on PATH): {pdf_path} was rendered without LaTeX from the same "
        f"content; {tex_path} is complete and can be compiled later with pdflatex",
        PyIMCOMWarning,
        stacklevel=2,
    )
    render_without_latex(document, pdf_path)
    return "matplotlib"
