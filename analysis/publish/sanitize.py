"""Sanitising everything that comes out of a notebook before it reaches a shared page.

Allow-list sanitising with nh3: only formatting and table tags survive; no ``<script>``,
``<iframe>``, ``on*`` attribute, ``javascript:`` URL or remote image. ``<style>`` blocks (pandas
Styler's cell colours) are kept only when they cannot fetch or break out. Markdown is rendered
with raw HTML escaped (mistune), and without MathJax ``$...$`` stays inert text.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any

log = logging.getLogger(__name__)

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd",
    "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "picture", "pre",
    "q", "s", "samp", "small", "source", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "time", "tr", "u", "ul", "var", "wbr",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "*": {"class", "id", "title", "lang", "dir", "style"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    # a chart's narrow rendition for phones: <picture><source media srcset=data:...>
    "source": {"srcset", "media", "type"},
    "td": {"colspan", "rowspan", "headers", "align"},
    "th": {"colspan", "rowspan", "headers", "scope", "align"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "type"},
    "table": {"border", "summary"},
    "time": {"datetime"},
}
#: What a ``style="..."`` attribute may set (pandas writes text-align; Styler cell colours).
_ALLOWED_STYLE_PROPERTIES = {
    "color", "background-color", "text-align", "vertical-align", "font-weight", "font-style",
    "font-size", "white-space", "width", "min-width", "max-width", "height", "padding",
    "padding-left", "padding-right", "padding-top", "padding-bottom", "border", "border-top",
    "border-bottom", "border-left", "border-right", "border-collapse", "display",
}  # fmt: skip
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]*$")
_SAFE_LINK = re.compile(r"^(https?:|mailto:)", re.IGNORECASE)
#: CSS that could fetch, run or break out of a <style> block. The CSP blocks fetches anyway;
#: a block containing any of these is dropped whole rather than repaired.
_CSS_DENIED = re.compile(
    r"@import|@font-face|@namespace|url\s*\(|image-set|image\s*\(|expression\s*\(|javascript:"
    r"|behaviou?r\s*:|-moz-binding|<|\\",
    re.IGNORECASE,
)


def attribute_filter(element: str, attribute: str, value: str) -> str | None:
    # Images only as embedded data; links only to in-page anchors, web pages or mail addresses.
    if attribute in ("src", "srcset"):
        # srcset: one embedded image and no descriptor (a data URL holds no white space)
        return value if _DATA_IMAGE.match(value.strip()) else None
    if attribute == "href":
        url = value.strip()
        if url.startswith("#") and url != "#harmful-link":  # mistune's mark for a refused URL
            return url
        return url if _SAFE_LINK.match(url) else None
    return value


def _in_page_only(url: str) -> str | None:
    # A relative URL would point at a file beside the report that the reader does not have;
    # only "#anchor" links within the page survive.
    return url if url.startswith("#") else None


@lru_cache(maxsize=1)
def _cleaner():
    import nh3

    return nh3.Cleaner(
        tags=_ALLOWED_TAGS,
        clean_content_tags={"script", "style", "template", "noscript", "iframe", "object"},
        attributes=_ALLOWED_ATTRIBUTES,
        attribute_filter=attribute_filter,
        url_schemes={"http", "https", "mailto", "data"},
        url_relative=_in_page_only,
        filter_style_properties=_ALLOWED_STYLE_PROPERTIES,
        strip_comments=True,
        link_rel="noopener noreferrer",
    )


class _StyleCollector(HTMLParser):
    """Collects the text of <style> elements (pandas Styler puts its cell colours there)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.sheets: list[str] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "style":
            self._inside = True
            self.sheets.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._inside = False

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.sheets[-1] += data


def _safe_stylesheets(fragment: str) -> list[str]:
    if "<style" not in fragment.lower():
        return []
    collector = _StyleCollector()
    collector.feed(fragment)
    collector.close()
    kept = []
    for sheet in collector.sheets:
        if _CSS_DENIED.search(sheet):
            log.warning("dropped a <style> block from a report output: it could fetch or escape")
        else:
            kept.append(sheet)
    return kept


def sanitize_html(fragment: Any) -> str:
    """Return ``fragment`` with everything active removed (nbconvert's ``clean_html`` filter).

    Allow-list sanitising with nh3: only formatting and table tags survive; no ``<script>``,
    ``<iframe>``, ``on*`` attribute, ``javascript:`` URL or remote image. ``<style>`` blocks
    (pandas Styler's cell colours) are kept only when they cannot fetch or break out.
    """
    fragment = fragment.decode() if isinstance(fragment, bytes) else str(fragment)
    sheets = _safe_stylesheets(fragment)
    cleaned = _cleaner().clean(fragment)
    return "".join(f"<style>{sheet}</style>" for sheet in sheets) + cleaned


@lru_cache(maxsize=1)
def _markdown():
    import mistune

    # escape=True: raw HTML in Markdown shows as text. Harmful link protocols (javascript:,
    # data:text/html, ...) are refused by mistune's default policy; no math plugin, and no
    # MathJax on the page, so "$\href{javascript:...}{x}$" is just characters.
    return mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])


def render_markdown(text: Any) -> str:
    """Markdown to sanitised HTML, raw HTML escaped (nbconvert's ``markdown2html`` filter)."""
    return sanitize_html(_markdown()(str(text)))
