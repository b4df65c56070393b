"""Sphinx configuration of the rvsm-theory documentation (``make docs``).

Before Sphinx reads the sources, :func:`generate` fills ``docs/generated/`` (ignored by git)
from the repository: the proof notes (``proofs_notes/*.md``), the py:percent notebooks
(``notebooks/*.py``, executed by myst-nb through jupytext) and the latest report
(``report/summary.json``, written by ``make report``, rendered again for the site by
:func:`rvsm.report.render_markdown` with links into the site).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
GENERATED = DOCS / "generated"
sys.path.insert(0, str(ROOT))

from theory import __version__  # noqa: E402

project = "rvsm-theory"
author = "rvsm-theory contributors"
copyright = "rvsm-theory contributors"
release = version = __version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]
# generated/report/ holds the report's files besides its page (tables, evidence): downloads
exclude_patterns = ["_build", "conf.py", "Thumbs.db", ".DS_Store", "**/.ipynb_checkpoints",
                    "generated/report/real_data_tables.md"]

# MyST Markdown: $...$ and $$...$$ math, ::: fences, anchors on headings (the notes link to
# each other's sections)
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# the notebooks are py:percent scripts: read through jupytext, executed on every build whose
# source changed (jupyter-cache in _build/.jupyter_cache), a failing cell fails the build
nb_custom_formats = {".py": ["jupytext.reads", {"fmt": "py:percent"}]}
nb_execution_mode = "cache"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_mock_imports: list[str] = []

html_theme = "furo"
html_title = f"rvsm-theory {release}"
html_static_path: list[str] = []
html_theme_options = {"navigation_with_keys": True}

# Docstrings are reStructuredText for Sphinx; a few of them cross-reference private helpers
# or type aliases that have no page: those references stay plain text rather than warnings.
nitpicky = False

# Inline code, math roles and interpreted text: left as they are by _docstring_markup.
_LITERAL = re.compile(r"``.*?``|:[a-z:]+:`[^`]*`|`[^`]*`_?")


def _docstring_markup(app, what, name, obj, options, lines) -> None:  # noqa: ANN001
    """Habits of the docstrings that reStructuredText reads otherwise, fixed here rather than
    in the code: norms written ``|w_bar - w*|`` in running text (a substitution reference to
    docutils), a bulleted list that starts right after a paragraph line, and section titles in
    module docstrings (two modules titling a section "Backends" on one page), shown as
    rubrics."""
    out: list[str] = []
    skip = False
    for i, line in enumerate(lines):
        if skip:
            skip = False
            continue
        stripped = line.lstrip()
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if what == "module" and line.strip() and not line.startswith(" ") and \
                re.fullmatch(r"([=\-~^])\1{2,}", nxt.strip()) and \
                len(nxt.strip()) >= len(line.strip()):
            out += [f".. rubric:: {line.strip()}", ""]
            skip = True
            continue
        if "|" in line and not re.match(r"\| |\+[-=]", stripped):  # line blocks, tables
            pieces, last = [], 0
            for m in _LITERAL.finditer(line):
                pieces.append(line[last:m.start()].replace("|", "\\|"))
                pieces.append(m.group(0))
                last = m.end()
            pieces.append(line[last:].replace("|", "\\|"))
            line = "".join(pieces)
        if line.startswith("* ") and out and out[-1].strip() and \
                not out[-1].startswith((" ", "* ", ".. ")):
            out.append("")
        out.append(line)
    lines[:] = out


def setup(app):  # noqa: ANN001, ANN201
    app.connect("autodoc-process-docstring", _docstring_markup)


def generate() -> None:
    """Copy the proof notes and the notebooks, render the latest report for the site."""
    if GENERATED.exists():
        shutil.rmtree(GENERATED)
    notes = GENERATED / "notes"
    notes.mkdir(parents=True)
    for p in sorted((ROOT / "proofs_notes").glob("*.md")):
        shutil.copy(p, notes / p.name)
    nbs = GENERATED / "notebooks"
    nbs.mkdir()
    for p in sorted((ROOT / "notebooks").glob("*.py")):
        shutil.copy(p, nbs / p.name)
    report = GENERATED / "report"
    report.mkdir()
    summary_path = ROOT / "report" / "summary.json"
    if not summary_path.is_file():
        (report / "index.md").write_text(
            "# Verification report\n\nNo report has been written yet: `make report` writes "
            "`report/`, and `make docs` (which runs it first when it is missing) puts it "
            "here.\n")
        return
    from rvsm.report import Flavour, render_markdown, report_files

    summary = json.loads(summary_path.read_text())
    for name in report_files(summary):
        src = ROOT / "report" / name
        if src.is_file():
            (report / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, report / name)
    text = render_markdown(summary, Flavour("myst", notes="../notes/"))
    (report / "index.md").write_text(text)


generate()
