"""The Korean documents keep one term for one idea, as docs/korean-glossary.md says.

The glossary is data: its third column lists, for each idea, the words the documents do not
use (a second term for the same idea, or a word a Korean reader found misleading). Any of
them in the prose of README.ko.md or docs/*.ko.md fails here, with the file, the line and
the term to use instead. Code blocks and inline code are not prose and are skipped. A second
check looks for the translation habit a Korean reader flagged: an English semicolon turned
into a sentence's end inside parentheses ("(... 입니다. ...)").
"""
import re

import pytest

from .helpers import ROOT

GLOSSARY = ROOT / "docs" / "korean-glossary.md"
DOCUMENTS = sorted([ROOT / "README.ko.md", *(ROOT / "docs").glob("*.ko.md")])


def glossary():
    """[(the term to use, a compiled pattern of a word not to use)] from the glossary's table."""
    rules = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("영어", "---"):
            continue
        for avoided in cells[2].split(" / "):
            avoided = avoided.strip()
            pattern = avoided[3:] if avoided.startswith("re:") else re.escape(avoided)
            rules.append((cells[1], re.compile(pattern)))
    return rules


def prose(path):
    """[(line number, text)] of a document without its code blocks and inline code."""
    lines, fenced = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, re.sub(r"`[^`]*`", "", line)))
    return lines


def test_the_glossary_is_read():
    rules = glossary()
    assert len(rules) >= 30 and any(p.pattern == "시그널" for _, p in rules)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_one_term_for_one_idea(path):
    lines = prose(path)
    joined = " ".join(text.strip() for _, text in lines)           # a term wrapped over two lines
    found = [f"{path.name}: {m.group(0)!r} (near {joined[max(0, m.start() - 30):m.end() + 10]!r}), "
             f"use {term}" for term, pattern in glossary() for m in pattern.finditer(joined)]
    assert not found, "\n".join(found)


# a period inside parentheses followed by another Korean sentence ("(128 px. 해설은 ...)")
SENTENCE_END_IN_PARENTHESES = re.compile(r"\([^()]*\S\.\s+[가-힣][^()]*\)")


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_no_sentence_ends_inside_parentheses(path):
    text = "\n".join(t for _, t in prose(path))
    text = re.sub(r"\$[^$]*\$", "", text)                 # math is not prose either
    text = re.sub(r"\]\([^)]*\)", "]", text)              # a link's target is not a parenthesis
    found = [m.group(0) for m in SENTENCE_END_IN_PARENTHESES.finditer(text.replace("\n", " "))]
    assert not found, f"{path.name}: two sentences in one pair of parentheses:\n" + \
        "\n".join(found)


def test_a_forbidden_term_is_caught(tmp_path):
    text = "Ctrl-C는 시그널을 보냅니다.\n"
    assert any(p.search(text) for _, p in glossary())
