"""Serve folium's scripts and styles from camdensity's vendored copies, never from a CDN.

folium links Leaflet, jQuery, Bootstrap, the icon fonts and each plugin's library from CDNs.
``web/vendor/`` holds copies taken from the registries' packages (see ``web/README.md``;
``web/vendor/assets.toml`` says which file replaces which URL). Two ways to use them:

- one self-contained HTML file: ``use_local_assets(m, mode="inline")`` puts every script
  and stylesheet in the page, with the images and fonts the styles use as ``data:`` URIs;
- a static site: ``use_local_assets(m, mode="link", prefix="assets/")`` links the copies
  relative to the page, and ``copy_assets(site / "assets")`` writes them.

The swap happens when the page is rendered, so plugins and legends added afterwards, and the
links they add while rendering (DualMap's copies, branca's d3), are covered too. A CDN URL
with no local copy makes rendering fail with :class:`AssetError` naming it: nothing is
silently loaded from a third party. Tile layers are not assets: their URL templates stay.
"""

from __future__ import annotations

import base64
import html
import posixpath
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from branca.element import CssLink, Element, Figure, JavascriptLink

from mapper._resources import resource_dir
from mapper.errors import CamdensityError

Mode = Literal["inline", "link"]

#: What ``folium.Icon`` markers (Leaflet.awesome-markers and its icon fonts) need: a map drawn
#: without ``folium.Icon`` (default or circle markers, clusters, GeoJSON) can pass these to
#: ``omit=`` and save about 540 kB per inlined page. folium's templates never use Bootstrap
#: (275 kB inlined): ``"bootstrap"`` may be omitted too when no popup or legend HTML relies on
#: it. Keep ``"jquery"``: folium's popups use it.
ICON_LIBRARIES: frozenset[str] = frozenset(
    {"awesome-markers", "font-awesome", "glyphicons", "awesome-rotate"}
)

_MIME = {
    ".png": "image/png",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
}


class AssetError(CamdensityError):
    """A page needs a script, style, image or font that camdensity does not vendor."""


@dataclass(frozen=True)
class Package:
    """One vendored registry package, as ``web/vendor/assets.toml`` describes it."""

    name: str
    version: str
    library: str
    registry: str
    licence: str
    files: tuple[str, ...]
    licence_files: tuple[str, ...]
    urls: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def folder(self) -> str:
        """The package's folder under ``web/vendor/`` (and under a site's assets folder)."""
        return f"{self.name}@{self.version}"

    def paths(self) -> tuple[str, ...]:
        """Every vendored file of the package, relative to ``web/vendor/``."""
        return tuple(f"{self.folder}/{f}" for f in (*self.files, *self.licence_files))


@dataclass(frozen=True)
class _Manifest:
    packages: tuple[Package, ...]
    by_url: dict[str, tuple[Package, tuple[str, ...]]]
    files: frozenset[str]


def vendor_dir() -> Path:
    """The folder holding the vendored files and ``assets.toml``."""
    return resource_dir("web") / "vendor"


@cache
def _manifest() -> _Manifest:
    raw = tomllib.loads((vendor_dir() / "assets.toml").read_text(encoding="utf-8"))
    packages: list[Package] = []
    by_url: dict[str, tuple[Package, tuple[str, ...]]] = {}
    for entry in raw["package"]:
        urls = tuple((str(u), tuple(str(f) for f in fs)) for u, fs in entry["urls"].items())
        pkg = Package(
            name=str(entry["name"]),
            version=str(entry["version"]),
            library=str(entry["library"]),
            registry=str(entry["registry"]),
            licence=str(entry["licence"]),
            files=tuple(str(f) for f in entry["files"]),
            licence_files=tuple(str(f) for f in entry["licence_files"]),
            urls=urls,
        )
        packages.append(pkg)
        for url, files in urls:
            by_url[_url_key(url)] = (pkg, tuple(f"{pkg.folder}/{f}" for f in files))
    return _Manifest(
        packages=tuple(packages),
        by_url=by_url,
        files=frozenset(p for pkg in packages for p in pkg.paths()),
    )


def vendored_packages() -> tuple[Package, ...]:
    """The vendored packages, in the manifest's order (for an about page's credits)."""
    return _manifest().packages


def libraries() -> frozenset[str]:
    """The library names that ``omit=`` accepts."""
    return frozenset(p.library for p in _manifest().packages)


def _url_key(url: str) -> str:
    """``https://x``, ``http://x`` and ``//x`` fetch the same file."""
    return re.sub(r"^(?:https?:)?//", "//", url.strip(), flags=re.IGNORECASE)


def _is_remote(url: str) -> bool:
    return re.match(r"^\s*(?:https?:)?//", url, flags=re.IGNORECASE) is not None


# --------------------------------------------------------------------------- served files

_JS_SOURCE_MAP = re.compile(r"^[ \t]*//[#@] sourceMappingURL=\S*[ \t]*$\n?", re.MULTILINE)
_CSS_SOURCE_MAP = re.compile(r"/\*[#@] sourceMappingURL=[^*]*\*/")
_CSS_URL = re.compile(
    r"""url\(\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^)"'\s]*))\s*\)""",
    re.IGNORECASE,
)
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.IGNORECASE)
_SRC_DECLARATION = re.compile(r"(?<![\w-])src\s*:\s*(?P<value>[^;}]*);?", re.IGNORECASE)
_SRC_ENTRY = re.compile(
    r"""(?:url\(\s*(?:"[^"]*"|'[^']*'|[^)]*)\s*\)|local\([^)]*\))(?:\s*format\([^)]*\))?""",
    re.IGNORECASE,
)


def _read(path: str) -> bytes:
    if path not in _manifest().files:
        raise AssetError(f"{path} is not a vendored file")
    return (vendor_dir() / path).read_bytes()


def _target(css_path: str, ref: str) -> str | None:
    """The vendored file a stylesheet's relative ``url()`` points at, or None if none."""
    if _is_remote(ref) or re.match(r"^[a-z][a-z0-9+.-]*:", ref, flags=re.IGNORECASE):
        return None
    bare = ref.split("#", 1)[0].split("?", 1)[0]
    target = posixpath.normpath(posixpath.join(posixpath.dirname(css_path), bare))
    return target if target in _manifest().files else None


def _css_ref(match: re.Match[str]) -> str:
    return next(g for g in (match["dq"], match["sq"], match["bare"]) if g is not None)


def _prune_font_face(css_path: str, block: str) -> str:
    """Keep only the @font-face sources that are vendored (woff2); fail if none is."""

    def prune(declaration: re.Match[str]) -> str:
        kept = []
        for entry in _SRC_ENTRY.findall(declaration["value"]):
            url = _CSS_URL.search(entry)
            if url is None or _target(css_path, _css_ref(url)) is not None:
                kept.append(entry)
        return f"src:{','.join(kept)};" if kept else ""

    pruned = _SRC_DECLARATION.sub(prune, block)
    if _SRC_DECLARATION.search(pruned) is None:
        raise AssetError(f"{css_path}: none of the font files of {block[:120]!r} is vendored")
    return pruned


@cache
def _served_text(path: str) -> str:
    """A vendored script or stylesheet as pages get it (the same text in both modes).

    ``sourceMappingURL`` comments are dropped (the maps are not vendored) and ``@font-face``
    sources naming files we left out are dropped; every other ``url()`` must name a
    vendored file, or this raises :class:`AssetError`.
    """
    text = _read(path).decode("utf-8")
    if path.endswith(".js"):
        return _JS_SOURCE_MAP.sub("", text)
    text = _CSS_SOURCE_MAP.sub("", text)
    text = _FONT_FACE.sub(lambda m: _prune_font_face(path, m.group(0)), text)
    for match in _CSS_URL.finditer(text):
        ref = _css_ref(match)
        if ref.startswith(("data:", "#")) or not ref:
            continue
        if _target(path, ref) is None:
            raise AssetError(f"{path} refers to {ref}, which is not vendored")
    return text


@cache
def _data_uri(path: str) -> str:
    mime = _MIME.get(posixpath.splitext(path)[1].lower())
    if mime is None:
        raise AssetError(f"{path}: no media type known for inlining it")
    return f"data:{mime};base64,{base64.b64encode(_read(path)).decode('ascii')}"


@cache
def _inline_css(path: str) -> str:
    def to_data(match: re.Match[str]) -> str:
        ref = _css_ref(match)
        target = _target(path, ref)
        return match.group(0) if target is None else f'url("{_data_uri(target)}")'

    css = _CSS_URL.sub(to_data, _served_text(path))
    if re.search(r"</style", css, flags=re.IGNORECASE):
        raise AssetError(f"{path} cannot be inlined: it contains '</style'")
    return css


def _inline_js(path: str) -> str:
    js = _served_text(path)
    if re.search(r"</script|<!--", js, flags=re.IGNORECASE):
        raise AssetError(f"{path} cannot be inlined: it contains '</script' or '<!--'")
    return js


@cache
def _leaflet_icon_fix(leaflet_js: str) -> str:
    """Point L.Icon.Default at data: URIs (its path detection needs a linked leaflet.css)."""
    images = posixpath.join(posixpath.dirname(leaflet_js), "images")
    options = {
        "iconUrl": _data_uri(f"{images}/marker-icon.png"),
        "iconRetinaUrl": _data_uri(f"{images}/marker-icon-2x.png"),
        "shadowUrl": _data_uri(f"{images}/marker-shadow.png"),
    }
    merged = ",".join(f'{k}:"{v}"' for k, v in options.items())
    return f'L.Icon.Default.imagePath="";L.Icon.Default.mergeOptions({{{merged}}});'


# ------------------------------------------------------------------------------ the page


def _tags(files: Iterable[str], mode: Mode, prefix: str, done: set[str]) -> list[str]:
    """The ``<script>``/``<style>`` or ``<link>`` tags for vendored files not yet on the page."""
    tags: list[str] = []
    for path in files:
        if path in done:
            continue
        done.add(path)
        css = path.endswith(".css")
        if mode == "link":
            href = html.escape(prefix + quote(path, safe="/@"), quote=True)
            tag = (
                f'<link rel="stylesheet" href="{href}"/>'
                if css
                else f'<script src="{href}"></script>'
            )
            tags.append(tag)
        elif css:
            tags.append(f"<style>/* {path} */\n{_inline_css(path)}\n</style>")
        else:
            tags.append(f"<script>/* {path} */\n{_inline_js(path)}\n</script>")
            if path.endswith("/leaflet.js") and path.startswith("leaflet@"):
                tags.append(f"<script>{_leaflet_icon_fix(path)}</script>")
    return tags


class _LocalAssetsHeader(Element):
    """A figure's ``<head>`` that renders CDN links as local copies (see the module doc)."""

    def __init__(self, mode: Mode, prefix: str, omit: frozenset[str]) -> None:
        super().__init__()
        self._name = "LocalAssetsHeader"
        self.mode: Mode = mode
        self.prefix = prefix
        self.omit = omit

    def render(self, **kwargs: Any) -> str:
        manifest = _manifest()
        done: set[str] = set()
        parts: list[str] = []
        for name, child in self._children.items():
            if isinstance(child, JavascriptLink | CssLink) and _is_remote(child.url):
                found = manifest.by_url.get(_url_key(child.url))
                if found is None:
                    raise AssetError(
                        f"the map links {child.url} ({name!r}), which camdensity does not "
                        "vendor: add its npm package to web/vendor/assets.toml and run "
                        "web/vendor/fetch_assets.py, or leave that element out"
                    )
                pkg, files = found
                if pkg.library not in self.omit:
                    parts.extend(_tags(files, self.mode, self.prefix, done))
                continue
            out = str(child.render(**kwargs))
            leaks = remote_references(out)
            if leaks:
                raise AssetError(f"the page's head loads {', '.join(leaks)} from another host")
            parts.append(out)
        return "\n    ".join(parts)


def use_local_assets(
    element: Any,
    mode: str = "inline",
    *,
    prefix: str = "assets/",
    omit: Iterable[str] = (),
) -> Figure:
    """Make the page of ``element`` (a folium Map, DualMap or Figure) use the vendored assets.

    ``mode="inline"`` embeds every script and stylesheet (images and fonts as ``data:``
    URIs): one HTML file that needs no network but the tile server. ``mode="link"`` links
    them at ``prefix`` + ``NAME@VERSION/PATH`` (a relative URL, e.g. ``"assets/"`` or
    ``"../assets/"``); write them there with :func:`copy_assets`. ``omit`` names libraries
    (see :func:`libraries`, :data:`ICON_LIBRARIES`) whose links are dropped from the page.

    Applies when the page is rendered (``m.save(...)``, ``m.get_root().render()``), so it may
    be called before or after adding layers; calling it again changes the settings. Returns
    the figure. Rendering raises :class:`AssetError` if the page links a CDN URL that is not
    vendored, or loads a script or style from another host in any other way.
    """
    if mode != "inline" and mode != "link":
        raise ValueError(f"mode must be 'inline' or 'link', not {mode!r}")
    how: Mode = "inline" if mode == "inline" else "link"
    if mode == "link" and (_is_remote(prefix) or prefix.startswith("/") or ":" in prefix):
        raise ValueError(f"prefix must be a relative URL such as 'assets/', not {prefix!r}")
    omitted = frozenset(omit)
    unknown = omitted - libraries()
    if unknown:
        raise ValueError(
            f"unknown libraries to omit: {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(libraries()))})"
        )
    figure = element.get_root()
    if not isinstance(figure, Figure):
        raise ValueError("the element is not in a Figure: add it to a folium.Map first")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    header = figure.header
    if isinstance(header, _LocalAssetsHeader):
        header.mode, header.prefix, header.omit = how, prefix, omitted
        return figure
    local = _LocalAssetsHeader(how, prefix, omitted)
    for name, child in header._children.items():
        local.add_child(child, name=name)
    local._parent = figure
    figure.header = local
    return figure


localise = use_local_assets


def copy_assets(dest: str | Path, *, omit: Iterable[str] = ()) -> list[Path]:
    """Write the vendored files, as pages get them, under ``dest`` (a site's assets folder).

    The layout is ``dest/NAME@VERSION/PATH``, what ``use_local_assets(mode="link")`` links;
    licence files are copied beside them. Returns the written paths, in manifest order.
    """
    root = Path(dest)
    omitted = frozenset(omit)
    written: list[Path] = []
    for pkg in vendored_packages():
        if pkg.library in omitted:
            continue
        for path in pkg.paths():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.endswith((".js", ".css")):
                target.write_bytes(_served_text(path).encode("utf-8"))
            else:
                target.write_bytes(_read(path))
            written.append(target)
    return written


_REMOTE = r"""\\?["']?((?:https?:)?//[^"'\\\s>)]+)"""
_REMOTE_PATTERNS = (
    re.compile(
        r"<(?:script|img|iframe|source|audio|video|embed)\b[^>]*?\ssrc\s*=\s*" + _REMOTE, re.I
    ),
    re.compile(r"<link\b[^>]*?\shref\s*=\s*" + _REMOTE, re.I),
    re.compile(r"url\(\s*" + _REMOTE, re.I),
    re.compile(r"@import\s+" + _REMOTE, re.I),
)


def remote_references(page: str) -> list[str]:
    """The URLs on other hosts that ``page`` loads as a script, stylesheet, image or font.

    Looks at ``<script src>``, ``<link href>``, ``<img|iframe|… src>``, CSS ``url()`` and
    ``@import``, also inside JavaScript strings. Tile URL templates and ``<a href>`` links
    are not loads and are not reported. Sorted, without repeats.
    """
    return sorted({m.group(1) for p in _REMOTE_PATTERNS for m in p.finditer(page)})
