"""HTML → PDF with WeasyPrint, restricted to the project's own template files.

Imported lazily (WeasyPrint costs about half a second to import). The URL fetcher serves only
files inside the templates directory; anything else (``file:///etc/passwd``, ``http://…``,
``data:``) stops the rendering. Missing glyphs (.notdef "tofu") are errors, never silent boxes.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import weasyprint
import weasyprint.css
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from bargaining.errors import ValidationError

CSS_PX_TO_PT = 0.75  # WeasyPrint lays out in CSS px (1/96 in); PDF user space is points (1/72 in)


class ForbiddenResource(FatalURLFetchingError):  # type: ignore[misc]  # weasyprint ships no type hints
    """A template (or injected markup) asked for something outside the templates directory."""


class ProjectFetcher(URLFetcher):  # type: ignore[misc]  # weasyprint ships no type hints
    """Serves ``file:`` URLs inside ``root`` and nothing else."""

    def __init__(self, root: Path):
        super().__init__(allowed_protocols=("file",), allow_redirects=False, fail_on_errors=True)
        self.root = root.resolve()

    def local_path(self, url: str) -> Path:
        """The file inside ``root`` that ``url`` names; anything else is refused."""
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise ForbiddenResource(f"resource outside the templates directory refused: {url[:200]}")
        path = Path(unquote(parts.path)).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise ForbiddenResource(f"resource outside the templates directory refused: {url[:200]}")
        return path

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
        path = self.local_path(url)
        body, content_type = _read(path, path.stat().st_mtime_ns)
        return URLFetcherResponse(path.as_uri(), body=body, headers={"Content-Type": content_type})


@lru_cache(maxsize=64)
def _read(path: Path, mtime_ns: int) -> tuple[bytes, str]:
    """A template file's bytes and type, cached until it changes on disk."""
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    return path.read_bytes(), content_type


_FETCHERS = threading.local()


def fetcher_for(root: Path) -> ProjectFetcher:
    """One fetcher per thread and root (building one sets up urllib's handlers, SSL included)."""
    cache: dict[Path, ProjectFetcher] = getattr(_FETCHERS, "by_root", None) or {}
    _FETCHERS.by_root = cache
    key = root.resolve()
    if key not in cache:
        cache[key] = ProjectFetcher(key)
    return cache[key]


_FONT_CONFIGS = threading.local()


def font_config() -> FontConfiguration:
    """One WeasyPrint font configuration per thread and process, reused by every document.

    WeasyPrint's default is a new one per document: fontconfig's configuration is loaded again,
    and Pango loads every face, its HarfBuzz face and its metrics anew (about 45 ms of a 1-page
    letter's 160 ms, 40 ms of a 3-page agreement's 340 ms on the benchmark machine). Reusing it
    keeps those caches warm and changes nothing in the output: the PDF bytes are identical
    (tests/documents/test_rendering.py checks this). Our templates declare no ``@font-face``,
    the only thing a configuration would accumulate between documents. Not shared across a
    fork: a worker process builds its own rather than using C state copied from its parent.
    """
    pid = os.getpid()
    cached: tuple[int, FontConfiguration] | None = getattr(_FONT_CONFIGS, "value", None)
    if cached is None or cached[0] != pid:
        cached = (pid, FontConfiguration())
        _FONT_CONFIGS.value = cached
    return cached[1]


_STYLESHEETS = threading.local()
_WEASYPRINT_CSS = weasyprint.css.CSS  # the class WeasyPrint's find_stylesheets instantiates


def _stylesheet(*args: Any, url: str | None = None, url_fetcher: Any = None, **options: Any) -> Any:
    """``weasyprint.CSS`` for WeasyPrint's ``<link rel=stylesheet>`` handling, parsed once per
    thread and file version when it is one of our own template files.

    WeasyPrint parses every linked stylesheet again for every document: about 13–16 ms for
    style.css (tinycss2, declaration validation, selector compilation), a tenth of a 1-page
    letter. A parsed stylesheet is not changed by rendering (the cascade only reads its
    matcher and page rules), so ours is kept, keyed by the file's path, mtime, size and the
    media type, and only when it has nothing that registers state in the document being
    rendered: no at-rule but ``@page`` (no ``@font-face``, ``@counter-style``, ``@import``,
    ``@layer``…). Anything else — other fetchers (bare WeasyPrint, the benchmarks' baseline),
    ``<style>`` elements, imports — goes to WeasyPrint's own class as before. The PDF bytes are
    the same (tests/documents/test_rendering.py). Tied to WeasyPrint 70.0's
    ``weasyprint.css.find_stylesheets``.
    """
    if args or url is None or not isinstance(url_fetcher, ProjectFetcher) or "matcher" in options:
        return _WEASYPRINT_CSS(*args, url=url, url_fetcher=url_fetcher, **options)
    try:
        path = url_fetcher.local_path(url)
        st = path.stat()
    except (ForbiddenResource, OSError):  # refused (or gone) as WeasyPrint's own path refuses it
        return _WEASYPRINT_CSS(url=url, url_fetcher=url_fetcher, **options)
    key = (path, st.st_mtime_ns, st.st_size, options.get("media_type"))
    cache: dict[Any, Any] = getattr(_STYLESHEETS, "by_key", None) or {}
    _STYLESHEETS.by_key = cache
    if key not in cache:
        sheet = _WEASYPRINT_CSS(url=url, url_fetcher=url_fetcher, **options)
        if not _registers_state(_read(path, st.st_mtime_ns)[0]):
            cache[key] = sheet
        return sheet
    return cache[key]


@lru_cache(maxsize=16)
def _registers_state(css: bytes) -> bool:
    """True unless every at-rule in ``css`` is ``@page`` (whose margin rules stay inside it)."""
    import tinycss2

    rules, _encoding = tinycss2.parse_stylesheet_bytes(css, skip_comments=True, skip_whitespace=True)
    return any(rule.type == "at-rule" and rule.lower_at_keyword != "page" for rule in rules)


weasyprint.css.CSS = _stylesheet


@dataclass
class RenderedPdf:
    pdf: bytes
    pages: int
    # element id → (page index, x1, y1, x2, y2) in PDF points, origin bottom-left
    anchors: dict[str, tuple[int, float, float, float, float]] = field(default_factory=dict)


class _Collector(logging.Handler):
    """Collects WeasyPrint warnings raised by this thread's rendering."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage())


def render(
    html: str,
    base_dir: Path,
    *,
    attachments: dict[str, bytes] | None = None,
    attachment_time: datetime | None = None,
    anchor_ids: tuple[str, ...] = (),
) -> RenderedPdf:
    """Lay out and write ``html``; ``anchor_ids`` are elements whose boxes are returned in points."""
    fetcher = fetcher_for(base_dir)
    collector = _Collector()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(collector)
    try:
        document = weasyprint.HTML(
            string=html, base_url=base_dir.resolve().as_uri() + "/", url_fetcher=fetcher
        ).render(font_config=font_config())
        files = [
            weasyprint.Attachment(
                string=data,
                name=name,
                relationship="Data",
                created=attachment_time,
                modified=attachment_time,
                url_fetcher=fetcher,
            )
            for name, data in (attachments or {}).items()
        ]
        pdf = document.write_pdf(attachments=files)
    finally:
        logger.removeHandler(collector)
    tofu = [m for m in collector.messages if ".notdef" in m]
    if tofu:
        raise ValidationError(
            "文书中有字体不支持的字符，无法排版："
            + "；".join(dict.fromkeys(tofu))
            + "。请修改相关文字后重试。",
            code="missing_glyph",
        )
    anchors: dict[str, tuple[int, float, float, float, float]] = {}
    for index, page in enumerate(document.pages):
        for name in anchor_ids:
            box = page.anchors.get(name)
            if box is None or name in anchors:
                continue
            x1, y1, x2, y2 = box  # CSS px from the page's top-left (WeasyPrint 70)
            height = page.height
            anchors[name] = (
                index,
                x1 * CSS_PX_TO_PT,
                (height - y2) * CSS_PX_TO_PT,
                x2 * CSS_PX_TO_PT,
                (height - y1) * CSS_PX_TO_PT,
            )
    missing = [name for name in anchor_ids if name not in anchors]
    if missing:
        raise RuntimeError(f"signature anchors not found in the layout: {missing}")
    return RenderedPdf(pdf=pdf, pages=len(document.pages), anchors=anchors)


def render_bare(html: str, base_dir: Path) -> bytes:
    """WeasyPrint with its defaults (the benchmarks' baseline)."""
    pdf: bytes = weasyprint.HTML(string=html, base_url=base_dir.resolve().as_uri() + "/").write_pdf()
    return pdf
