"""README.md and its Korean translation README.ko.md stay in step.

The English README is authoritative; README.ko.md translates its prose (and the
comments inside its code blocks) and keeps everything a reader copies or follows
byte for byte: the code itself (the Quick start block whole), the image paths, the
links to repository files and to the web, the inline code, the math and the tables'
shape. Where a document has a Korean translation, README.ko.md links to it
(docs/backprop.ko.md for docs/backprop.md). When README.md changes, change
README.ko.md with it until these tests pass.

Also checked: every relative link and image path names a file in the repository,
every in-page link (#anchor) names a heading of its own document, and the Quick
start is exactly two commands.
"""
import re
from collections import Counter
from pathlib import Path

import pytest

from .translations import to_original, without_comments

ROOT = Path(__file__).resolve().parent.parent
EN = ROOT / "README.md"
KO = ROOT / "README.ko.md"
READMES = [EN, KO]

FENCE = re.compile(r"^(?P<fence>```+|~~~+)[^\n]*\n.*?^(?P=fence)[ \t]*$", re.M | re.S)
LINK = re.compile(r"(?P<image>!?)\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)\)")
INLINE_CODE = re.compile(r"`([^`]+)`")
MATH = re.compile(r"\$[^$\n]+\$")


def text_of(path):
    return path.read_text(encoding="utf-8")


def code_blocks(text):
    """The fenced code blocks, fences included, in order."""
    return [m.group(0) for m in FENCE.finditer(text)]


def prose(text):
    """The document with its fenced code blocks blanked out."""
    return FENCE.sub("", text)


def sections(text):
    """[(heading, body)] for each `## ` section; body runs to the next `## ` heading."""
    parts = re.split(r"^(## .*)$", text, flags=re.M)
    return list(zip(parts[1::2], parts[2::2]))


def section_headings(text):
    return [line for line in prose(text).splitlines() if line.startswith("## ")]


def links(text):
    """(is_image, target) of every Markdown link and image outside code blocks, in order."""
    return [(bool(m.group("image")), m.group("target")) for m in LINK.finditer(prose(text))]


def is_relative(target):
    return not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) and not target.startswith("#")


def images(text):
    return [t for image, t in links(text) if image]


def file_links(text):
    """Relative links to repository files (images apart), without the README cross-links."""
    return [t for image, t in links(text)
            if not image and is_relative(t) and t.split("#")[0] not in ("README.md", "README.ko.md")]


def web_links(text):
    return [t for _, t in links(text) if not is_relative(t) and not t.startswith("#")]


def github_anchor(heading):
    """The anchor GitHub makes from a heading: lower case, punctuation dropped, spaces to '-'."""
    title = heading.lstrip("#").strip()
    title = title.replace("`", "").replace("*", "")  # code and emphasis marks
    title = title.lower()
    title = re.sub(r"[^\w\- ]", "", title)  # \w is Unicode: Hangul is kept
    return title.replace(" ", "-")


def anchors(text):
    """Every anchor the document's headings define, numbered as GitHub numbers repeats."""
    seen = Counter()
    result = set()
    for line in prose(text).splitlines():
        if re.match(r"^#{1,6} ", line):
            slug = github_anchor(line)
            result.add(slug if not seen[slug] else f"{slug}-{seen[slug]}")
            seen[slug] += 1
    return result


def quick_start_block(text, heading):
    for title, body in sections(text):
        if title.strip() == heading:
            blocks = code_blocks(body)
            assert blocks, f"no code block under {heading!r}"
            return blocks[0]
    raise AssertionError(f"no section {heading!r}")


def commands(block):
    """Shell commands in a fenced block: non-blank, non-comment lines, `\\` continuations joined."""
    body = block.splitlines()[1:-1]
    joined, current = [], ""
    for line in body:
        current += line
        if current.rstrip().endswith("\\"):
            current = current.rstrip()[:-1] + " "
            continue
        if current.strip() and not current.strip().startswith("#"):
            joined.append(current.strip())
        current = ""
    return joined


EN_TEXT = text_of(EN)
KO_TEXT = text_of(KO) if KO.exists() else ""


def test_the_korean_readme_exists_and_the_two_link_to_each_other():
    assert KO.exists(), "README.ko.md is missing"
    assert "(README.ko.md)" in EN_TEXT, "README.md does not link to README.ko.md"
    lines = [line for line in KO_TEXT.splitlines() if line.strip()]
    assert lines[0] == EN_TEXT.splitlines()[0], "README.ko.md should open with README.md's title"
    assert lines[1].startswith("[English README](README.md)"), (
        "README.ko.md's second line should link back: [English README](README.md)")


def test_the_english_quick_start_is_exactly_two_commands():
    block = quick_start_block(EN_TEXT, "## Quick start")
    assert EN_TEXT.index(block) == EN_TEXT.index("```"), "Quick start is not the first code block"
    assert len(commands(block)) == 2, commands(block)


def test_the_quick_start_block_is_byte_identical():
    en = quick_start_block(EN_TEXT, "## Quick start")
    ko_first = sections(KO_TEXT)[0]
    ko = code_blocks(ko_first[1])[0]
    assert ko == en, f"README.ko.md's first section {ko_first[0]!r} has another Quick start block"
    assert code_blocks(KO_TEXT)[0] == en


def test_the_same_sections():
    en, ko = section_headings(EN_TEXT), section_headings(KO_TEXT)
    assert len(ko) == len(en), f"README.md has {len(en)} ## sections, README.ko.md {len(ko)}"


def code(text):
    """The code blocks without their comments, which a translation translates."""
    return [without_comments(block) for block in code_blocks(text)]


def test_the_same_code_blocks_in_the_same_order():
    assert code(KO_TEXT) == code(EN_TEXT)


def test_the_same_code_blocks_section_by_section():
    for (en_title, en_body), (ko_title, ko_body) in zip(sections(EN_TEXT), sections(KO_TEXT)):
        assert code(ko_body) == code(en_body), (
            f"the code blocks of {en_title!r} differ from those of {ko_title!r}")


def test_the_same_image_paths_in_the_same_order():
    assert images(KO_TEXT) == images(EN_TEXT)


def test_the_same_links_to_repository_files():
    def targets(text):
        return [to_original(t) for t in file_links(text)]        # a .ko.md stands for its .md
    assert targets(KO_TEXT) == targets(EN_TEXT)
    for (en_title, en_body), (ko_title, ko_body) in zip(sections(EN_TEXT), sections(KO_TEXT)):
        assert sorted(targets(ko_body)) == sorted(targets(en_body)), (
            f"the file links of {en_title!r} differ from those of {ko_title!r}")


def test_the_same_web_links():
    assert Counter(web_links(KO_TEXT)) == Counter(web_links(EN_TEXT))


def test_the_same_inline_code_and_math():
    def spans(text, pattern):
        return Counter(re.sub(r"\s+", " ", s) for s in pattern.findall(prose(text)))
    en_code, ko_code = spans(EN_TEXT, INLINE_CODE), spans(KO_TEXT, INLINE_CODE)
    assert ko_code == en_code, (f"only in README.md: {sorted((en_code - ko_code).elements())}; "
                                f"only in README.ko.md: {sorted((ko_code - en_code).elements())}")
    assert MATH.findall(prose(KO_TEXT)) == MATH.findall(prose(EN_TEXT))


def table_shapes(text):
    """(rows, columns) of each table, in order; `\\|` inside a cell is not a column."""
    shapes, rows, columns = [], 0, None
    for line in prose(text).splitlines() + [""]:
        if line.startswith("|"):
            cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
            columns = columns or len(cells)
            assert len(cells) == columns, f"ragged table row: {line!r}"
            rows += 1
        elif rows:
            shapes.append((rows, columns))
            rows, columns = 0, None
    return shapes


def test_the_same_tables():
    assert table_shapes(KO_TEXT) == table_shapes(EN_TEXT)


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.name)
def test_every_relative_link_and_image_names_a_file_in_the_repository(readme):
    text = text_of(readme)
    missing = sorted({t for _, t in links(text)
                      if is_relative(t) and not (ROOT / t.split("#")[0]).exists()})
    assert not missing, f"{readme.name} links to files that do not exist: {missing}"


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.name)
def test_every_in_page_link_names_a_heading(readme):
    text = text_of(readme)
    defined = anchors(text)
    broken = [t for _, t in links(text) if t.startswith("#") and t[1:] not in defined]
    assert not broken, f"{readme.name}: no heading makes {broken}; headings make {sorted(defined)}"


def test_the_anchor_rule():
    assert github_anchor("## The weights") == "the-weights"
    assert github_anchor("## Using stylize.py") == "using-stylizepy"
    assert github_anchor("## The tests: what they prove") == "the-tests-what-they-prove"
    assert github_anchor("## 가중치 (The weights)") == "가중치-the-weights"
    assert github_anchor("## `conv4_2` *here*") == "conv4_2-here"


def test_every_stylize_option_is_documented_in_both_readmes():
    import re
    import subprocess
    import sys
    help_text = subprocess.run([sys.executable, str(ROOT / "stylize.py"), "--help"],
                               capture_output=True, text=True, cwd=ROOT).stdout
    options = set(re.findall(r"(--[a-z][a-z-]+)", help_text)) - {"--help"}
    for name in ("README.md", "README.ko.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        missing = sorted(o for o in options if f"`{o}" not in text)
        assert not missing, f"{name} does not document {missing}"
