"""Icons of the timeline's kinds: inline SVG (16 px, stroked in the current colour), built once.

Rendered as ready strings rather than an included template per item: a page shows 50 items, and an
include with a branch per icon was a fifth of the page's rendering time.
"""

from django.utils.safestring import SafeString, mark_safe

_SVG = (
    '<svg width="16" height="16" viewBox="0 0 16 16" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">'
    "{paths}</svg>"
)

_PATHS = {
    "bag": '<path d="M3 5h10l-1 9H4z"/><path d="M6 5V4a2 2 0 0 1 4 0v1"/>',
    "return": '<path d="M5 4 2 7l3 3"/><path d="M2 7h8a4 4 0 0 1 0 8H7"/>',
    "card": '<rect x="1.5" y="3.5" width="13" height="9" rx="1.5"/><path d="M1.5 6.5h13"/>',
    "handshake": '<path d="M1.5 8 5 4.5l3 2 3-2L14.5 8"/><path d="M5 10l2 2 4-4"/>',
    "phone": '<path d="M3 2h3l1 3-2 1a8 8 0 0 0 5 5l1-2 3 1v3a1 1 0 0 1-1 1A12 12 0 0 1 2 3a1 1 0 0 1 1-1z"/>',
    "globe": '<circle cx="8" cy="8" r="6.5"/><path d="M1.5 8h13M8 1.5c2 2 2 11 0 13M8 1.5c-2 2-2 11 0 13"/>',
    "phone-app": '<rect x="4" y="1.5" width="8" height="13" rx="1.5"/><path d="M7 12.5h2"/>',
    "eye": '<path d="M1 8s2.5-5 7-5 7 5 7 5-2.5 5-7 5-7-5-7-5z"/><circle cx="8" cy="8" r="2"/>',
    "cart": '<path d="M1 2h2l2 8h8l1.5-5.5H4"/><circle cx="6" cy="13.5" r="1"/><circle cx="12" cy="13.5" r="1"/>',
    "envelope": '<rect x="1.5" y="3.5" width="13" height="9" rx="1"/><path d="m2 4 6 5 6-5"/>',
    "chat": '<path d="M2 3h12v8H6l-3 3v-3H2z"/>',
    "bell": '<path d="M4 11V7a4 4 0 0 1 8 0v4l1.5 1.5h-11z"/><path d="M6.5 14a1.5 1.5 0 0 0 3 0"/>',
    "star": '<path d="m8 1.5 2 4.2 4.5.6-3.3 3.1.8 4.5L8 11.8l-4 2.1.8-4.5L1.5 6.3 6 5.7z"/>',
    "shield": '<path d="M8 1.5 2.5 3.5v4c0 3.5 2.5 6 5.5 7 3-1 5.5-3.5 5.5-7v-4z"/>',
    "file": '<path d="M4 1.5h5l3 3v10H4z"/><path d="M9 1.5v3h3M6 8h4M6 11h4"/>',
    "pencil": '<path d="m11 2 3 3-8 8H3v-3z"/>',
}
_DEFAULT = '<circle cx="8" cy="8" r="3"/>'

ICONS: dict[str, SafeString] = {name: mark_safe(_SVG.format(paths=paths)) for name, paths in _PATHS.items()}  # noqa: S308
DEFAULT_ICON = mark_safe(_SVG.format(paths=_DEFAULT))  # noqa: S308  # constants of this module
