"""``escape`` for the template tags that write many values (the timeline's items, search's rows, the
customer page's cards): the text of ``django.utils.html.escape`` without its ``keep_lazy`` wrapper, which
checks every argument for a lazy translation first (2.1 µs a call against 0.4 µs; the customer page
escapes some 450 values). It answers a plain ``str``: the tags mark their whole output safe once.
"""

import html


def escape(value: object) -> str:
    """``&``, ``<``, ``>``, ``"`` and ``'`` escaped, as ``django.utils.html.escape`` writes them."""
    return html.escape(str(value))
