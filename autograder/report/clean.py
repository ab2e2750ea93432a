"""The grader's one HTML policy: what of a student's HTML and Markdown may reach a page.

Every piece of HTML a student controls (a ``text/html`` output, rendered Markdown, a raw cell)
goes through `sanitize_html`, a `nh3` (ammonia) cleaner with these rules:

- tags: ammonia's safe defaults (text, lists, tables, images, details); no ``script``,
  ``style``, ``iframe``, ``object``, ``form``, ``svg`` or ``math`` (their text may stay, their
  content is never live);
- attributes: ammonia's per-tag defaults, plus ``class`` (only syntax-highlighting and
  table classes, so no page layout class can be borrowed), ``id`` (prefixed with `ID_PREFIX`,
  so a student's element can never take the id of a grade cell's score field), ``title`` and
  ``lang``; never an event handler or a ``style``;
- links: ``http``, ``https``, ``mailto`` and fragments within the page; images: inline
  ``data:image/...;base64`` only (nothing is fetched when the page opens).

`markdown_block` renders a Markdown source the way nbconvert renders a notebook's Markdown (the
same renderer, so math keeps its ``$`` for MathJax) and returns the cleaned HTML as a single-line
``<div>`` HTML block. Markdown passes such a block through unchanged, so whoever renders the
rewritten cell again (formgrader, nbconvert, JupyterLab) shows exactly the cleaned HTML, in time
linear in its size. `plain_block` is the fallback: the source as escaped text, with a note.
"""
import html
import re

import nh3
from pygments.token import STANDARD_TYPES

ID_PREFIX = "user-content-"
BLOCK_CLASS = "autograder-sanitized"
NOTE_CLASS = "autograder-note"
KEPT_CLASSES = frozenset({"highlight", "hll", "anchor-link", "dataframe", BLOCK_CLASS, NOTE_CLASS}
                         | set(STANDARD_TYPES.values()) - {""})   # pygments' token classes: k, nn, s2 ...
_LANGUAGE_CLASS = re.compile(r"hl-[\w+-]{1,40}")
_IMAGE_URL = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]*", re.I)
_LINK_URL = re.compile(r"\s*(https?:|mailto:|#)", re.I)
_INERT = re.compile("[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\\[\\]]")


def _attribute(tag, name, value):
    """nh3's attribute filter: the value to keep, or None to drop the attribute."""
    if name == "class":
        kept = [c for c in value.split() if c in KEPT_CLASSES or _LANGUAGE_CLASS.fullmatch(c)]
        return " ".join(kept) or None
    if name == "src":
        return value if tag == "img" and _IMAGE_URL.fullmatch(value.strip()) else None
    if name in ("href", "cite"):
        return value if _LINK_URL.match(value) else None
    return value


def _relative(url):
    """A relative URL survives only as a fragment of this page (prefixed like the ids)."""
    if url.startswith("#"):
        name = url[1:]
        return "#" + (name if name.startswith(ID_PREFIX) else ID_PREFIX + name)
    return None


_CLEANER = nh3.Cleaner(
    attributes={**{tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
                "*": {"class", "id", "title", "lang"}},
    attribute_filter=_attribute,
    url_schemes={"http", "https", "mailto", "data"},
    url_relative=_relative,
    id_prefix=ID_PREFIX,
    link_rel="noopener noreferrer nofollow",
)


def sanitize_html(text):
    """`text` (HTML written by a student) with everything active removed.

    >>> sanitize_html('<b onclick="steal()">bold</b><script>steal()</script>')
    '<b>bold</b>'
    >>> sanitize_html('<a href="javascript:steal()">x</a> <img src="https://example.org/t.png">')
    '<a rel="noopener noreferrer nofollow">x</a> <img>'
    """
    return _CLEANER.clean(str(text))


def one_line(text):
    """`text` with every character that Markdown could take for a line break, and every square
    bracket, as a character reference: the same HTML, but a single line that Markdown passes
    through at once. (Markdown looks for links in a block's brackets before it sees that the block
    is HTML, and that search grows with the square of a line of brackets: 55 s of CPU for a line
    of 120 000.)"""
    return _INERT.sub(lambda m: f"&#{ord(m.group())};", text)


def html_block(inner, css_class=BLOCK_CLASS):
    """Cleaned HTML as one Markdown HTML block: ``<div class=...>`` on a single line."""
    return f'<div class="{css_class}">' + one_line(inner) + "</div>"


def markdown_to_html(source, attachments=None):
    """nbconvert's rendering of a notebook's Markdown (``HTMLExporter.markdown2html``), untouched."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
    from nbconvert.filters.strings import strip_files_prefix

    renderer = IPythonRenderer(escape=False, attachments=attachments or {}, embed_images=False, path="",
                               anchor_link_text="¶", exclude_anchor_links=False)
    return strip_files_prefix(MarkdownWithMath(renderer=renderer).render(source))


def _passes_through(block):
    return markdown_to_html(block).strip() == block


def markdown_block(item):
    """``(source, attachments)`` -> the cleaned HTML of the Markdown, as one HTML block.

    Raises ValueError if Markdown would not pass the block through unchanged (never seen; then
    the caller shows the cell as text).
    """
    source, attachments = item
    if source.startswith(f'<div class="{BLOCK_CLASS}">') and one_line(sanitize_html(source)) == source \
            and _passes_through(source):
        return source   # cleaned before: unchanged, so cleaning twice is cleaning once
    block = html_block(sanitize_html(markdown_to_html(source, attachments)))
    if not _passes_through(block):
        raise ValueError("the cleaned HTML does not survive Markdown unchanged")
    return block


def plain_block(source, why):
    """`source` as escaped text in a ``<pre>``, after a note that says `why` it is shown so."""
    note = f'<p class="{NOTE_CLASS}"><em>{html.escape(why)}</em></p>'
    return html_block(sanitize_html(note + "<pre>" + html.escape(source) + "</pre>"))
