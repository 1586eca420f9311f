"""What a translated Markdown document must keep from its original, for the tests that compare them.

A translation rewrites the prose and the comments in its code; it keeps, byte for byte,
what a reader copies or follows: the code itself, the program output, the formulas, the
links, the inline code. These helpers pull those parts out of a document so that
tests/test_readme.py and tests/test_docs_ko.py can compare them.
"""
import re
from collections import Counter

FENCE = re.compile(r"^(?P<fence>```+|~~~+)(?P<lang>[^\n]*)\n.*?^(?P=fence)[ \t]*$", re.M | re.S)
LINK = re.compile(r"(?P<image>!?)\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)\)"
                  r"(?:[ \t]*<!--\s*anchor:\s*(?P<anchor>.*?)\s*-->)?")
INLINE_CODE = re.compile(r"`([^`]+)`")
DISPLAY_MATH = re.compile(r"^\$\$\n(.*?)\n\$\$$", re.M | re.S)
INLINE_MATH = re.compile(r"(?<!\$)\$(?!\$)[^$\n]+\$")
COMMENT = {"python": re.compile(r"\s*#.*$"), "bash": re.compile(r"\s+#.*$|^\s*#.*$")}


def code_blocks(text):
    """The fenced code blocks, fences included, in order."""
    return [m.group(0) for m in FENCE.finditer(text)]


def without_comments(block):
    """A fenced block with its comments removed (python and bash blocks; others unchanged).

    Comments are prose: a translation translates them. Everything else must stay.
    """
    lang = block.split("\n", 1)[0].strip("`~ \t")
    pattern = COMMENT.get(lang)
    if pattern is None:
        return block
    lines = [pattern.sub("", line).rstrip() for line in block.split("\n")[1:-1]]
    return "\n".join([block.split("\n", 1)[0], *[ln for ln in lines if ln], block.split("\n")[-1]])


def prose(text):
    """The document with its fenced code blocks blanked out."""
    return FENCE.sub("", text)


def sections(text):
    """[(heading, body)] for each `## ` section (the part before the first is dropped)."""
    parts = re.split(r"^(## .*)$", prose(text), flags=re.M)
    return list(zip(parts[1::2], parts[2::2]))


def heading_numbers(text):
    """For every heading: its level and the number it starts with ('1.', '2.' ...), if any."""
    found = []
    for line in prose(text).splitlines():
        m = re.match(r"^(#{1,6}) (\d+\.)?", line)
        if m:
            found.append((len(m.group(1)), m.group(2)))
    return found


def display_math(text):
    """The $$ ... $$ formulas in order, without trailing punctuation (sentences end differently)."""
    return [re.sub(r"[\s,.:;]+$", "", m) for m in DISPLAY_MATH.findall(prose(text))]


def inline_math(text):
    return set(INLINE_MATH.findall(DISPLAY_MATH.sub("", prose(text))))


def inline_code(text):
    return set(re.sub(r"\s+", " ", s) for s in INLINE_CODE.findall(prose(text)))


def links(text, same=lambda target: target):
    """Counter of (target, anchor) of every link and image; `same` maps a translation's targets
    to the original's (a link to walkthrough.ko.md stands for walkthrough.md)."""
    return Counter((same(m.group("target")), m.group("anchor") or "")
                   for m in LINK.finditer(prose(text)))


def to_original(target):
    """'walkthrough.ko.md#x' -> 'walkthrough.md#x': a translation links to translations."""
    return re.sub(r"\.ko\.md(?=$|#)", ".md", target)
