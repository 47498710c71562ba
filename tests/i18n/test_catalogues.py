"""Every string a customer reads is translated: the catalogues are complete and compiled, every
translate tag in the portal and e-mail templates is in them, and no template has words outside
a translate tag. (test_rendering.py renders each template in each language.)"""

import pytest

from tests.i18n.catalogue import (
    CUSTOMER_TEMPLATES,
    TRANSLATED_LANGUAGES,
    read_mo,
    read_po,
    template_messages,
    untranslated_text,
)


@pytest.mark.parametrize("language", TRANSLATED_LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(language):
    entries = read_po(language)
    assert len(entries) > 200
    untranslated = [e.msgid for e in entries if e.fuzzy or not e.msgstr or not all(s.strip() for s in e.msgstr)]
    assert untranslated == []


@pytest.mark.parametrize("language", TRANSLATED_LANGUAGES)
def test_the_compiled_catalogue_is_the_po_file(language):
    """The .mo files are committed (a fresh machine may have no msgfmt): they must say what the .po says."""
    compiled = read_mo(language)
    for entry in read_po(language):
        key = f"{entry.context}\x04{entry.msgid}" if entry.context else entry.msgid
        if entry.msgid_plural:
            assert [compiled.ngettext(key, entry.msgid_plural, n) for n in (1, 2, 5)] == [
                entry.msgstr[compiled.plural(n)] for n in (1, 2, 5)], entry.msgid
        else:
            assert compiled.gettext(key) == entry.msgstr[0], entry.msgid


@pytest.mark.parametrize("language", TRANSLATED_LANGUAGES)
def test_placeholders_survive_translation(language):
    """A translation that drops or renames %(rma)s would raise (or lie) at render time."""
    import re

    placeholder = re.compile(r"%\(\w+\)[sd]")
    for entry in read_po(language):
        for source, translated in [(entry.msgid, entry.msgstr[0]),
                                   *((entry.msgid_plural, s) for s in entry.msgstr[1:])]:
            assert set(placeholder.findall(translated)) <= set(placeholder.findall(entry.msgid_plural or source)) | \
                set(placeholder.findall(source)), entry.msgid
            if not entry.msgid_plural:
                assert set(placeholder.findall(translated)) == set(placeholder.findall(source)), entry.msgid


def test_the_walk_covers_the_portal_and_every_email():
    names = {str(path.relative_to(path.parents[1])) for path in CUSTOMER_TEMPLATES}
    assert {"portal/base.html", "portal/return_start.html", "portal/_quote.html", "templates/home.html",
            "emails/return_authorized_subject.txt", "emails/base.txt", "emails/refund_fallback.html"} <= names


@pytest.mark.parametrize("path", CUSTOMER_TEMPLATES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_template_has_no_words_outside_translate_tags(path):
    assert untranslated_text(path) == []


@pytest.mark.parametrize("path", CUSTOMER_TEMPLATES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_translate_tag_of_a_template_is_in_each_catalogue(path):
    catalogues = {language: {(e.context, e.msgid): e for e in read_po(language)} for language in TRANSLATED_LANGUAGES}
    for context, msgid, plural in template_messages(path):
        for language, entries in catalogues.items():
            entry = entries.get((context, msgid))
            assert entry is not None, f"{msgid!r} is not in the {language} catalogue: run makemessages"
            assert entry.msgid_plural == plural and all(entry.msgstr), msgid


def test_the_checker_sees_what_it_should(tmp_path):
    """The walker is only worth something if it flags untranslated text; show it does."""
    template = tmp_path / "sample.html"
    template.write_text('{% load i18n %}<nav aria-label="Pages"><p>{% translate "Fine" %}</p><p>Forgot me</p>'
                        '{% blocktranslate %}Also {{ fine }}{% endblocktranslate %} · {{ value }} × 2'
                        '<b title="{% translate \'Tip\' %}">{{ carrier|default:_("the carrier") }}</b></nav>')
    assert untranslated_text(template) == ["Pages", "Forgot me"]
    assert template_messages(template) == [(None, "Fine", None), (None, "Also %(fine)s", None), (None, "Tip", None),
                                           (None, "the carrier", None)]


def test_the_stylesheet_and_script_add_no_words():
    """Text put on the page by CSS (`content: "…"`) or by the portal script cannot be translated."""
    import re

    from tests.i18n.catalogue import ROOT, WORD

    css = (ROOT / "static/portal/portal.css").read_text(encoding="utf-8")
    assert [text for text in re.findall(r'content:\s*"([^"]*)"', css) if WORD.search(text)] == []
    script = re.sub(r"//[^\n]*|/\*.*?\*/", "", (ROOT / "static/portal/portal.js").read_text(encoding="utf-8"),
                    flags=re.S)
    assert [text for text in re.findall(r'(?:textContent|innerText|innerHTML)\s*=\s*["\'`]([^"\'`]*)', script)
            if WORD.search(text)] == []
