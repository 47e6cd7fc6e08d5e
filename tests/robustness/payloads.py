"""Hostile text for the browser tests (issue 9, part 3): every payload sets
``window.__pwned = 1`` (or ``parent.__pwned``) if a page ever runs it as code.

Groups: script tags, event handlers, ``javascript:``/``data:`` URLs, attribute and element
breakouts, template and JSON-breaking sequences (server-side template injection shows as
``49``), HTML-parser tricks (comments, CDATA, RCDATA/RAWTEXT ends, mutation XSS), SVG and
MathML vectors, Unicode escapes and look-alikes. All are shorter than the maps' 500-character
clip, so each must show in full, as text.
"""

from __future__ import annotations

PWN = "window.__pwned=1"

PAYLOADS: tuple[str, ...] = (
    # script tags
    f"<script>{PWN}</script>",
    f"<ScRiPt >{PWN}</sCrIpT >",
    f"<script src=data:text/javascript,{PWN}></script>",
    f"</script><script>{PWN}</script>",
    f"</SCRIPT\t><script>{PWN}//",
    f"<!--<script>{PWN}</script>-->",
    # event handlers
    f"<img src=x onerror={PWN}>",
    f'<img src="x" onerror="{PWN};alert(1)">',
    "<img src=x onerror=&#119;indow.__pwned=1>",
    f"<svg onload={PWN}>",
    f"<body onload={PWN}>",
    f"<details open ontoggle={PWN}>",
    f"<input autofocus onfocus={PWN}>",
    f"<video><source onerror={PWN}></video>",
    f"<style onload={PWN}></style>",
    f"<marquee onstart={PWN}>x</marquee>",
    # URLs
    f"javascript:{PWN}",
    f"JaVaScRiPt:{PWN}//https://example.org/",
    f" \tjava\nscript:{PWN}",
    f"&#106;avascript:{PWN}",
    f"data:text/html,<script>parent.__pwned=1;{PWN}</script>",
    f"vbscript:{PWN}",
    f'<a href="javascript:{PWN}" id=x>x</a>',
    "<iframe src=javascript:parent.__pwned=1></iframe>",
    '<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>',
    f"<object data=javascript:{PWN}></object>",
    f'<form><button formaction="javascript:{PWN}">x</button></form>',
    f'<meta http-equiv="refresh" content="0;url=javascript:{PWN}">',
    f'<base href="javascript:{PWN}//">',
    f"[x](javascript:{PWN})",
    # attribute and element breakouts
    f'"><img src=x onerror={PWN}>',
    f"'><svg onload={PWN}>",
    f'" autofocus onfocus="{PWN}" x="',
    f"' autofocus onfocus='{PWN}' x='",
    f"</title><img src=x onerror={PWN}>",
    f"</textarea></style></noscript></xmp><img src=x onerror={PWN}>",
    f'<noscript><p title="</noscript><img src=x onerror={PWN}>">',
    f"<div style=\"background:url('javascript:{PWN}')\">x</div>",
    # template and JSON-breaking sequences
    "{{7*7}}",
    "{{ 7*7 }}{% if 1 %}[if]{% endif %}{# comment #}",
    "{% raw %}{{ 7*7 }}{% endraw %}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    f"{{{{constructor.constructor('{PWN}')()}}}}",
    f"${{{PWN}}}`${{{PWN}}}`",
    "#{7*7}<%= 7*7 %>${{7*7}}@(7*7)",
    f'";{PWN};//',
    f"';{PWN};//",
    f'\\";{PWN};//',
    f"}}]);{PWN};//",
    f"x\u2028{PWN}\u2029//",
    f"]]><script>{PWN}</script><![CDATA[",
    # SVG and MathML
    f"<svg><script>{PWN}</script></svg>",
    f"<svg><animate onbegin={PWN} attributeName=x dur=1s>",
    f'<svg><a xlink:href="javascript:{PWN}"><text y=20>x</text></a></svg>',
    f"<math><mtext><table><mglyph><style><img src=x onerror={PWN}>",
    f'<math href="javascript:{PWN}">x</math>',
    # Unicode escapes and look-alikes
    f"\\u003cimg src=x onerror={PWN}\\u003e",
    f"\\x3cscript\\x3e{PWN}\\x3c/script\\x3e",
    f"&lt;script&gt;{PWN}&lt;/script&gt;",
    f"\uff1cscript\uff1e{PWN}\uff1c/script\uff1e",
    f"\u202e<img src=x onerror={PWN}>\u202c",
    f"<scr\x00ipt>{PWN}</scr\x00ipt>",
)

#: Server-side template injection would turn this into "49".
SSTI = "{{7*7}}"


def usable_as_name(p: str) -> bool:
    """What ``camdensity area add`` accepts as it is (at most 300 printable characters)."""
    return p == p.strip() and 0 < len(p) <= 300 and all(ord(c) >= 32 for c in p)


def usable_as_file_name(p: str) -> bool:
    return usable_as_name(p) and "/" not in p and len(p.encode()) < 200
