"""docs/backprop.ko.md and docs/walkthrough.ko.md stay in step with their English originals.

The English document is authoritative. Its Korean translation rewrites the prose (and the
comments inside code), and keeps everything else: the same sections, numbered the same;
the same display formulas in the same order and the same inline formulas in each section;
the same code and program output; the same links (code links with the same anchors, so
docs/check_links.py keeps both in step) and the same inline code, section by section.
When an English document changes, change its translation with it until these pass.
Also checked: the Korean documents of the repository avoid the terms /work/shared's
guide for Korean documents rules out (보폭, 역방향, 퍼짐, ...).
"""
from pathlib import Path

import pytest

from . import translations as tr

ROOT = Path(__file__).resolve().parent.parent
PAIRS = [(ROOT / "docs" / f"{name}.md", ROOT / "docs" / f"{name}.ko.md")
         for name in ("backprop", "walkthrough")]
IDS = [en.name for en, _ in PAIRS]


def texts(pair):
    en, ko = pair
    assert ko.exists(), f"{ko.name} is missing"
    return en.read_text(encoding="utf-8"), ko.read_text(encoding="utf-8")


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
def test_the_translation_links_back_to_its_original(pair):
    en, ko = pair
    _, ko_text = texts(pair)
    second = [line for line in ko_text.splitlines() if line.strip()][1]
    assert second.startswith(f"[English]({en.name})"), (
        f"{ko.name}'s second line should link to its original: [English]({en.name})")


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
def test_the_same_sections_numbered_the_same(pair):
    en_text, ko_text = texts(pair)
    en, ko = tr.heading_numbers(en_text), tr.heading_numbers(ko_text)
    assert len(ko) == len(en), (f"{pair[0].name} has {len(en)} headings, {pair[1].name} {len(ko)}: "
                                "translate the new or changed sections")
    assert ko == en, "the headings' levels or numbers differ"


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
def test_the_same_display_formulas_in_the_same_order(pair):
    en_text, ko_text = texts(pair)
    assert tr.display_math(ko_text) == tr.display_math(en_text)


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
def test_the_same_code_and_output_with_only_the_comments_translated(pair):
    en_text, ko_text = texts(pair)
    en_blocks, ko_blocks = tr.code_blocks(en_text), tr.code_blocks(ko_text)
    assert len(ko_blocks) == len(en_blocks)
    for en_block, ko_block in zip(en_blocks, ko_blocks):
        assert tr.without_comments(ko_block) == tr.without_comments(en_block), en_block[:200]


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
def test_section_by_section_the_same_formulas_links_and_inline_code(pair):
    en_text, ko_text = texts(pair)
    for (en_title, en_body), (ko_title, ko_body) in zip(tr.sections(en_text), tr.sections(ko_text)):
        where = f"{en_title!r} / {ko_title!r}"
        en_math, ko_math = tr.inline_math(en_body), tr.inline_math(ko_body)
        assert ko_math == en_math, (f"{where}: formulas only in English {sorted(en_math - ko_math)}, "
                                    f"only in Korean {sorted(ko_math - en_math)}")
        en_links, ko_links = tr.links(en_body), tr.links(ko_body, tr.to_original)
        assert ko_links == en_links, (f"{where}: links only in English {en_links - ko_links}, "
                                      f"only in Korean {ko_links - en_links}")
        en_code, ko_code = tr.inline_code(en_body), tr.inline_code(ko_body)
        assert ko_code == en_code, (f"{where}: inline code only in English {sorted(en_code - ko_code)}, "
                                    f"only in Korean {sorted(ko_code - en_code)}")


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
def test_the_opening_keeps_its_formulas_links_and_inline_code(pair):
    """The part before the first ## section (the introduction) is compared too."""
    en_text, ko_text = texts(pair)
    en_intro, ko_intro = (tr.prose(t).split("\n## ")[0] for t in (en_text, ko_text))
    assert tr.inline_math(ko_intro) == tr.inline_math(en_intro)
    back_link = tr.links(f"[English]({pair[0].name})")
    assert tr.links(ko_intro, tr.to_original) - back_link == tr.links(en_intro)
    assert tr.inline_code(ko_intro) == tr.inline_code(en_intro)


RULED_OUT = {  # term: what /work/shared's guide for Korean documents says to write instead
    "보폭": "스트라이드 (stride) or 스텝 크기 (step size)",
    "역방향": "역전파 (backward pass), paired with 순전파",
    "퍼짐": "표준편차 (standard deviation)",
    "크기를 다시 맞춘": "가중치 스케일을 재조정한 (rescaled network)",
}


@pytest.mark.parametrize("doc", ["README.ko.md", "docs/backprop.ko.md", "docs/walkthrough.ko.md"])
def test_the_korean_documents_use_the_agreed_terms(doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    found = {term: fix for term, fix in RULED_OUT.items() if term in text}
    assert not found, f"{doc} uses terms the Korean guide rules out: {found}"
