"""Markdown to one self-contained HTML page: formulas as MathML (rendered by the browser, no
script and no network), PNG figures embedded as data URIs, links to ``.md`` files that have an
HTML twin rewritten to it.

Used by ``rvsm report`` for ``report.html`` and the proof notes next to it.  The Markdown is
CommonMark with pipe tables, raw HTML (anchors) and ``$...$`` / ``$$...$$`` math.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["to_html", "page", "math_to_mathml"]

CSS = """
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f;
       max-width: 60rem; margin: 2rem auto; padding: 0 1.2rem; }
h1, h2, h3 { line-height: 1.25; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; }
h3 { margin-top: 2.2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .92em; }
th, td { border: 1px solid #d0d7de; padding: .3em .6em; vertical-align: top; text-align: left; }
th { background: #f6f8fa; }
code { background: #f2f2f2; padding: .05em .3em; border-radius: 3px; font-size: .9em; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; }
pre code { background: none; padding: 0; }
img { max-width: 100%; height: auto; }
math[display="block"] { margin: .6em 0; overflow-x: auto; }
a { color: #0b5cad; } em { color: #444; }
"""


def math_to_mathml(tex: str, display: bool) -> str:
    """MathML for ``tex``; on a conversion error, the TeX source in a ``<code>`` element."""
    from latex2mathml.converter import convert

    try:
        return convert(tex, display="block" if display else "inline")
    except Exception:  # an unsupported macro must not break the page
        return f'<code class="tex">{html.escape(tex)}</code>'


def _renderer(md: Any, base: Path | None, link: Callable[[str], str] | None) -> Any:
    def image(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        tok = tokens[idx]
        src = tok.attrGet("src") or ""
        if base is not None and not re.match(r"^[a-z]+:", src) and src.endswith(".png"):
            path = base / src
            if path.is_file():
                data = base64.b64encode(path.read_bytes()).decode()
                tok.attrSet("src", f"data:image/png;base64,{data}")
        return self.renderToken(tokens, idx, options, env)

    def link_open(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        tok = tokens[idx]
        href = tok.attrGet("href")
        if href and link is not None:
            tok.attrSet("href", link(href))
        return self.renderToken(tokens, idx, options, env)

    md.add_render_rule("image", image)
    md.add_render_rule("link_open", link_open)
    return md


def to_html(markdown: str, base: Path | None = None,
            link: Callable[[str], str] | None = None) -> str:
    """The body HTML of ``markdown``; images under ``base`` are embedded, every link's href
    goes through ``link``."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    md.use(dollarmath_plugin, allow_space=True, allow_digits=False,
           renderer=lambda tex, opts: math_to_mathml(tex, bool(opts.get("display_mode"))))
    _renderer(md, base, link)
    return md.render(markdown)


def page(title: str, body: str) -> str:
    """A complete HTML document around ``body``."""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            f"{body}</body>\n</html>\n")


def md_links_to_html(known: set[str]) -> Callable[[str], str]:
    """A link rewriter: a relative ``X.md`` (optionally ``#anchor``) whose path is in
    ``known`` becomes ``X.html``."""
    def link(href: str) -> str:
        m = re.match(r"^([^:#?]+)\.md(#.*)?$", href)
        if m and f"{m.group(1)}.md" in known:
            return f"{m.group(1)}.html{m.group(2) or ''}"
        return href
    return link
