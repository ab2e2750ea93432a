"""What in an HTML page could run code: `active_content`, for tests and the attack report.

A page passes when the list is empty: no script but the grader's own MathJax, no event
handler, no ``javascript:`` (or ``vbscript:``, ``data:text/html``) URL, no script in a
``style`` attribute, no frame, object, embed, form, ``<base>`` or refreshing ``<meta>``. The parser is Python's own `html.parser`,
which reads tags the way a browser's tokenizer does (unquoted and odd attributes included).
"""
import re
from html.parser import HTMLParser
from pathlib import Path

_SHADOW = Path(__file__).resolve().parent / "templates" / "autograder_local" / "mathjax.html.j2"
_CONFIG = re.search(r'<script type="text/x-mathjax-config">(.*?)</script>', _SHADOW.read_text(encoding="utf-8"), re.S)
OWN_CONFIG = " ".join(_CONFIG.group(1).split())
"""The MathJax configuration block of the grader's template (MathJax runs it as code)."""
OWN_SOURCE = re.compile(r"[\w./-]*(_static/mathjax|static/jupyter_server_mathjax)/MathJax\.js\?config=[\w,-]+")
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background",
                   "lowsrc", "dynsrc", "srcset", "cite", "longdesc", "ping"}
_BAD_URL = re.compile(r"^\s*(javascript|vbscript|livescript)\s*:|^\s*data\s*:\s*text/html", re.I)
_ACTIVE_TAGS = {"iframe", "frame", "frameset", "object", "embed", "applet", "form", "base", "portal"}


def _plain_url(value):
    """A URL attribute as a browser reads it: entities decoded by the parser, controls dropped."""
    return re.sub(r"[\x00-\x20]", "", value or "")


class _Finder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self.script = [], None

    def handle_starttag(self, tag, attrs):
        where = f"line {self.getpos()[0]}"
        attrs = [(name.lower(), value or "") for name, value in attrs]
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{where}: <{tag} {name}=...> event handler")
            elif name in _URL_ATTRIBUTES and _BAD_URL.match(_plain_url(value)):
                self.found.append(f"{where}: <{tag} {name}={value[:60]!r}> script URL")
            elif name == "srcdoc":
                self.found.append(f"{where}: <{tag} srcdoc=...>")
            elif name == "style" and re.search(r"javascript\s*:|expression\s*\(|behavior\s*:", value, re.I):
                self.found.append(f"{where}: <{tag} style={value[:60]!r}> script in CSS")
        values = dict(attrs)
        if tag in _ACTIVE_TAGS:
            self.found.append(f"{where}: <{tag}> element")
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.found.append(f"{where}: <meta http-equiv=refresh>")
        if tag == "script":
            self.script = (where, values, [])

    def handle_data(self, data):
        if self.script is not None:
            self.script[2].append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self.script is not None:
            where, values, body = self.script
            self.script = None
            text = " ".join("".join(body).split())
            own_source = OWN_SOURCE.fullmatch(values.get("src", "")) and not text
            own_config = values.get("type") == "text/x-mathjax-config" and text == OWN_CONFIG
            inert_type = values.get("type", "").lower() in ("application/json", "text/plain") and "src" not in values
            if not (own_source or own_config or inert_type):
                self.found.append(f"{where}: <script{' src=' + repr(values['src']) if 'src' in values else ''}> "
                                  f"{text[:80]!r}")


def active_content(page):
    """Everything in the HTML text `page` that could run code, one description each.

    >>> active_content('<p>fine</p><img src="x" onerror="alert(1)"><a href=" javascript:x">a</a>')
    ['line 1: <img onerror=...> event handler', "line 1: <a href=' javascript:x'> script URL"]
    """
    finder = _Finder()
    finder.feed(page)
    finder.close()
    if finder.script is not None:
        finder.found.append(f"{finder.script[0]}: an unclosed <script>")
    return finder.found
