"""Report content: plain-text building blocks rendered either to LaTeX or to a TeX-free PDF.

A section describes its text as a list of small blocks (`Heading`, `Paragraph`, `Items`, `FigureRef`,
`Verbatim`).  `to_tex` renders them to LaTeX (escaping special characters), and
`pyimcom.diagnostics.pdf` renders the same blocks to PDF pages with matplotlib when ``pdflatex`` is
not installed, so both PDFs say the same thing.  Text is plain ASCII prose, not LaTeX source.

`SectionResult` is what every section's ``build(ctx)`` returns: title, blocks, figure paths, a
machine-readable data dictionary, the text of its data block and its summary status.  The data block
is written between ``$$$START <Section>`` and ``$$$END <Section>`` lines, as the reference does;
`parse_data_blocks` reads them back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import PyIMCOMValueError

__all__ = [
    "PASS",
    "FAIL",
    "NOT_APPLICABLE",
    "STATUSES",
    "Heading",
    "Paragraph",
    "Items",
    "FigureRef",
    "Verbatim",
    "SectionResult",
    "tex_escape",
    "to_tex",
    "format_data_block",
    "parse_data_blocks",
]

PASS = "PASS"
FAIL = "FAIL"
NOT_APPLICABLE = "N/A"
STATUSES = (PASS, FAIL, NOT_APPLICABLE)


@dataclass(frozen=True)
class Heading:
    """A subsection heading (plain text)."""

    text: str


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text."""

    text: str


@dataclass(frozen=True)
class Items:
    """A bulleted list of plain-text items; ``monospace`` sets every item in a typewriter font."""

    items: tuple[str, ...]
    monospace: bool = False


@dataclass(frozen=True)
class FigureRef:
    """A figure: image file (PNG), caption (plain text) and width on the page [inch]."""

    path: str
    caption: str
    width_in: float = 6.0


@dataclass(frozen=True)
class Verbatim:
    """Preformatted text (monospace); ``small`` selects a smaller font."""

    text: str
    small: bool = False


@dataclass
class SectionResult:
    """What a section's ``build(ctx)`` returns.

    Attributes
    ----------
    name : str
        Section name used in the Summary and the data-block markers, e.g. ``'LayerReport'``.
    title : str
        Section title.
    blocks : list
        Content blocks (`Heading`, `Paragraph`, `Items`, `FigureRef`, `Verbatim`).
    figures : list of str
        Paths of the figure files written.
    data : dict
        Machine-readable results (numbers, lists, strings; JSON-serialisable).
    data_text : str
        Text of the ``$$$START``/``$$$END`` data block.
    status : str
        One of `STATUSES`.
    note : str
        Short reason shown next to the status in the Summary (thresholds or what was skipped).
    """

    name: str
    title: str
    blocks: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    data: dict = field(default_factory=dict)
    data_text: str = ""
    status: str = NOT_APPLICABLE
    note: str = ""

    def __post_init__(self):
        if self.status not in STATUSES:
            raise PyIMCOMValueError(f"SectionResult.status must be one of {STATUSES}; got {self.status!r}")

    @property
    def tex(self) -> str:
        """LaTeX body of the section (without its data block)."""
        return f"% {'-' * 70}\n\\section{{{tex_escape(self.title)}}}\n" + to_tex(self.blocks)


_TEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def tex_escape(text: str) -> str:
    """Escape plain text for LaTeX; non-ASCII characters become ``?``.

    Examples
    --------
    >>> tex_escape("50% of a_b & {c}")
    '50\\\\% of a\\\\_b \\\\& \\\\{c\\\\}'
    """
    text = text.encode("ascii", "replace").decode("ascii")
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in text)


def _verbatim_safe(text: str) -> str:
    """Make text safe inside a verbatim environment (ASCII, no premature end marker)."""
    text = text.encode("ascii", "replace").decode("ascii")
    return text.replace("\\end{verbatim}", "\\end {verbatim}")


def to_tex(blocks) -> str:
    """Render content blocks to LaTeX.

    Parameters
    ----------
    blocks : iterable
        `Heading`, `Paragraph`, `Items`, `FigureRef` or `Verbatim` objects.  Figure paths must
        already be relative to the directory of the .tex file.

    Returns
    -------
    str
        LaTeX source.

    Raises
    ------
    PyIMCOMValueError
        If a block is of an unknown type.
    """
    out = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"\\subsection{{{tex_escape(b.text)}}}\n")
        elif isinstance(b, Paragraph):
            out.append(tex_escape(b.text) + "\n\n")
        elif isinstance(b, Items):
            wrap = (lambda s: f"\\texttt{{{s}}}") if b.monospace else (lambda s: s)
            body = "".join(f"\\item {wrap(tex_escape(item))}\n" for item in b.items)
            out.append(f"\\begin{{itemize}}\n{body}\\end{{itemize}}\n" if b.items else "")
        elif isinstance(b, FigureRef):
            out.append(
                "\\begin{figure}[htbp]\n\\centering\n"
                f"\\includegraphics[width={b.width_in:.2f}in,height=8in,keepaspectratio]{{{b.path}}}\n"
                f"\\caption{{{tex_escape(b.caption)}}}\n\\end{{figure}}\n"
            )
        elif isinstance(b, Verbatim):
            size = "\\scriptsize\n" if b.small else ""
            out.append(
                f"{{{size}\\begin{{verbatim}}\n{_verbatim_safe(b.text.rstrip())}\n\\end{{verbatim}}}}\n"
            )
        else:
            raise PyIMCOMValueError(
                f"unknown report content block {b!r}; "
                "expected Heading, Paragraph, Items, FigureRef or Verbatim"
            )
    return "".join(out)


def format_data_block(name: str, text: str) -> str:
    """Return the machine-readable data block of a section.

    Examples
    --------
    >>> format_data_block("MosaicImage", "N =  2, BIN =   1").splitlines()
    ['$$$START MosaicImage', 'N =  2, BIN =   1', '$$$END MosaicImage']
    """
    body = text.rstrip("\n")
    return f"$$$START {name}\n{body}\n$$$END {name}" if body else f"$$$START {name}\n$$$END {name}"


_START_RE = re.compile(r"^\$\$\$START (\S+)\s*$")


def parse_data_blocks(text: str) -> dict[str, str]:
    """Extract every ``$$$START <name>`` ... ``$$$END <name>`` block from a report (.tex) text.

    Parameters
    ----------
    text : str
        Report text.

    Returns
    -------
    dict of str to str
        Section name -> the lines between the markers (joined with newlines, no trailing newline).

    Raises
    ------
    PyIMCOMValueError
        If a block is not closed by its ``$$$END`` line.

    Examples
    --------
    >>> parse_data_blocks("x\\n$$$START A\\n1 2\\n$$$END A\\n")
    {'A': '1 2'}
    """
    blocks: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _START_RE.match(lines[i])
        if m is None:
            i += 1
            continue
        name, body = m[1], []
        i += 1
        while i < len(lines) and lines[i].rstrip() != f"$$$END {name}":
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise PyIMCOMValueError(f"data block {name!r} has no '$$$END {name}' line")
        blocks[name] = "\n".join(body)
        i += 1
    return blocks
