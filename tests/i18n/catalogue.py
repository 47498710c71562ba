"""Reading the project's translation catalogues and templates, for the tests that check them.

No gettext tools needed: the .po files are parsed here and the compiled .mo files are read with
Python's gettext module, as Django reads them.
"""

import gettext
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.template import engines
from django.template.base import Lexer, TokenType
from django.templatetags.i18n import BlockTranslateNode, TranslateNode

ROOT = Path(settings.BASE_DIR)
TEMPLATES = ROOT / "templates"
# What a customer reads: the portal (and the pages that wear its layout) and the e-mails.
CUSTOMER_TEMPLATES = sorted([*TEMPLATES.glob("portal/*.html"), *TEMPLATES.glob("emails/*"),
                             TEMPLATES / "home.html", TEMPLATES / "404.html"])
TRANSLATED_LANGUAGES = [code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


@dataclass
class Entry:
    msgid: str
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=list)
    context: str | None = None
    fuzzy: bool = False


def po_path(language: str) -> Path:
    return ROOT / "locale" / language / "LC_MESSAGES" / "django.po"


def read_po(language: str) -> list[Entry]:
    """Every entry of the language's .po file but the header (strings may continue on later lines)."""
    entries, current, last, flags = [], None, None, ""
    for line in [*po_path(language).read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if current is not None and current.msgid:
                entries.append(current)
            current, last, flags = None, None, ""
            continue
        if line.startswith("#,"):
            flags = line
            continue
        if line.startswith("#"):
            continue
        if current is None:
            current = Entry(msgid="", fuzzy="fuzzy" in flags)
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            value = json.loads(line)
        else:
            value = json.loads(rest)
            last = keyword
        if last == "msgctxt":
            current.context = (current.context or "") + value
        elif last == "msgid":
            current.msgid += value
        elif last == "msgid_plural":
            current.msgid_plural = (current.msgid_plural or "") + value
        elif last.startswith("msgstr"):
            index = int(last[7:-1]) if last.startswith("msgstr[") else 0
            if line.startswith('"'):
                current.msgstr[index] += value
            else:
                current.msgstr.append(value)
    return entries


def read_mo(language: str) -> gettext.GNUTranslations:
    with open(po_path(language).with_suffix(".mo"), "rb") as handle:
        return gettext.GNUTranslations(handle)


def template_messages(path: Path) -> list[tuple[str | None, str, str | None]]:
    """(context, msgid, msgid_plural) of every translate and blocktranslate tag in one template,
    and of every _("…") literal given to a filter (`default:_("the carrier")`)."""
    source = path.read_text(encoding="utf-8")
    template = engines["django"].engine.from_string(source)
    found = []
    for node in _walk(template.nodelist):
        if isinstance(node, TranslateNode):
            literal = getattr(node.filter_expression.var, "literal", None)
            if literal is not None and not node.noop:
                context = node.message_context.var if node.message_context else None
                found.append((context, literal, None))
        elif isinstance(node, BlockTranslateNode):
            singular, _ = node.render_token_list(node.singular)
            plural = node.render_token_list(node.plural)[0] if node.plural else None
            context = node.message_context.var if node.message_context else None
            found.append((context, singular, plural))
    for token in Lexer(source).tokenize():
        if token.token_type in (TokenType.BLOCK, TokenType.VAR):
            found += [(None, literal, None) for literal in FILTER_LITERAL.findall(token.contents)]
    return found


FILTER_LITERAL = re.compile(r"""\b_\("([^"]*)"\)""")


def _walk(nodelist):
    for node in nodelist:
        yield node
        for attr in getattr(node, "child_nodelists", ()):
            yield from _walk(getattr(node, attr, None) or [])


# Attributes a person reads or hears (screen readers), whose values must be translated too.
READ_ATTRIBUTES = re.compile(r'\b(?:aria-label|title|alt|placeholder)="([^"]*)"')
WORD = re.compile(r"[^\W\d_]{2,}")
HOLE = "\x00"  # where a template tag or variable was


def untranslated_text(path: Path) -> list[str]:
    """Words a reader would see that are not inside a translate tag: literal text of the
    template outside blocktranslate, stripped of markup, plus readable attribute values."""
    source = path.read_text(encoding="utf-8")
    pieces, depth = [], 0
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0]
            depth += name == "blocktranslate" or name == "blocktrans"
            depth -= name == "endblocktranslate" or name == "endblocktrans"
            pieces.append(HOLE)
        elif token.token_type == TokenType.TEXT and depth == 0:
            pieces.append(token.contents)
        elif token.token_type != TokenType.COMMENT:
            pieces.append(HOLE)
    text = "".join(pieces)
    text = re.sub(r"<!--.*?-->|<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    found = [value for value in READ_ATTRIBUTES.findall(text) if WORD.search(value)]
    text = re.sub(r"<!doctype[^>]*>|<[^>]*>|&[a-z]+;|&#\d+;", " ", text, flags=re.I)
    found += [" ".join(piece.split()) for piece in re.split(f"[\n{HOLE}]+", text) if WORD.search(piece)]
    return found
