"""docs/: every link to lines of code points at the lines its anchor names, and --fix repairs them.

Code moves; when this test fails after an edit, run `python docs/check_links.py --fix`
and read the diff of docs/ before committing it.
"""
import pytest

from .helpers import ROOT, load_script

DOCS = ROOT / "docs"
check_links = load_script(DOCS / "check_links.py", "check_links")


@pytest.mark.parametrize("doc", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_every_link_points_at_its_anchor_and_every_linked_file_exists(doc):
    problems = check_links.check_document(doc)
    assert not problems, ("stale or broken links (run python docs/check_links.py --fix):\n"
                          + "\n".join(problems))


@pytest.mark.parametrize("name", ["backprop.md", "backprop.ko.md"])
def test_the_docs_cite_code_at_all(name):
    text = (DOCS / name).read_text()
    cited = {m.group("target").split("#")[0] for m in check_links.LINK.finditer(text)
             if "#L" in m.group("target")}
    for path in ["../minigrad/conv.py", "../minigrad/pool.py", "../minigrad/layers.py",
                 "../minigrad/losses.py", "../vgg/model.py", "../vgg/transfer.py",
                 "../minigrad/optim.py"]:
        assert path in cited, f"{name} links no lines of {path}"


@pytest.mark.parametrize("doc", sorted(DOCS.glob("*.ko.md")), ids=lambda p: p.name)
def test_each_translation_cites_the_code_its_original_cites(doc):
    assert check_links.original_of(doc).is_file()
    assert not check_links.translation_problems(doc)


def test_a_translation_that_cites_other_code_is_reported_and_korean_line_labels_are_fixed(tmp_path):
    doc = make_doc(tmp_path, ["[helper](../code.py#L13-L16)",
                              "[code.py, lines 7-10](../code.py#L7-L10) <!-- anchor: class B > def backward( -->"])
    ko = doc.with_name("page.ko.md")
    ko.write_text("# 페이지\n\n[helper](../code.py#L13-L16)\n"
                  "[code.py, 1-2행](../code.py#L1-L2) <!-- anchor: class A > def backward( -->\n")
    problems = check_links.translation_problems(ko)
    assert len(problems) == 2, problems
    assert any("page.md cites ../code.py#L7-L10" in p for p in problems)
    assert any("cites ../code.py#L1-L2" in p and "more time(s) than page.md" in p for p in problems)
    assert check_links.main([str(doc), str(ko)]) == 1
    ko.write_text("# 페이지\n\n[helper](../code.py#L1-L2)\n"
                  "[code.py, 1-2행](../code.py#L1-L2) <!-- anchor: class B > def backward( -->\n")
    check_links.check_document(ko, fix=True)
    text = ko.read_text()
    assert "[code.py, 7-10행](../code.py#L7-L10) <!-- anchor: class B > def backward( -->" in text
    assert "[helper](../code.py#L13-L16)" in text
    assert check_links.main([str(doc), str(ko)]) == 0


CODE = '''\
class A:
    def backward(self):
        return 1


class B:
    def backward(self):
        x = 2

        return x


def helper(y):
    z = y + 1  # start here
    w = z * 2
    return w  # end here
'''


def make_doc(tmp_path, links):
    (tmp_path / "code.py").write_text(CODE)
    docs = tmp_path / "docs"
    docs.mkdir()
    doc = docs / "page.md"
    doc.write_text("# Page\n\n" + "\n".join(links) + "\n")
    return doc


def test_check_reports_and_fix_repairs_stale_links(tmp_path):
    doc = make_doc(tmp_path, [
        "[code.py, lines 1-2](../code.py#L1-L2) <!-- anchor: class B > def backward( -->",
        "see [helper](../code.py#L3-L4) for the rest",
        "[one span](../code.py#L1-L1) <!-- anchor: # start here ; end: # end here -->",
        "[line 9](../code.py#L9-L9) <!-- anchor: x = 2 -->",
    ])
    problems = check_links.check_document(doc)
    assert len(problems) == 4 and all("should be" in p for p in problems)
    check_links.check_document(doc, fix=True)
    text = doc.read_text()
    assert "[code.py, lines 7-10](../code.py#L7-L10) <!-- anchor: class B > def backward( -->" in text
    assert "[helper](../code.py#L13-L16)" in text
    assert "(../code.py#L14-L16) <!-- anchor: # start here ; end: # end here -->" in text
    assert "[line 8](../code.py#L8-L8)" in text
    assert check_links.check_document(doc) == []


def test_links_without_a_usable_anchor_or_file_are_reported(tmp_path):
    doc = make_doc(tmp_path, [
        "[somewhere](../code.py#L1-L2)",                                   # names no anchor
        "[backward](../code.py#L2-L3)",                                    # defined twice
        "[x](../code.py#L2-L3) <!-- anchor: def backward( -->",            # ambiguous text
        "[x](../code.py#L2-L3) <!-- anchor: def nowhere( -->",             # not in the file
        "[x](../missing.py#L2-L3) <!-- anchor: def helper( -->",           # no such file
        "![figure](images/none.png)",                                      # no such image
        "[web](https://example.org) and [top](#page)",                     # not checked
    ])
    problems = check_links.check_document(doc)
    assert len(problems) == 6, problems
    for needle in ["names no anchor", "defined more than once", "ambiguous", "not found",
                   "missing.py#L2-L3: no such file", "images/none.png: no such file"]:
        assert any(needle in p for p in problems), (needle, problems)
    before = doc.read_text()
    check_links.check_document(doc, fix=True)
    assert doc.read_text() == before                                       # nothing guessed


def test_command_line_exit_status(tmp_path, capsys):
    doc = make_doc(tmp_path, ["[helper](../code.py#L1-L2)"])
    assert check_links.main([str(doc)]) == 1
    assert check_links.main(["--fix", str(doc)]) == 0
    assert check_links.main([str(doc)]) == 0
    assert "point at their anchors" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["backprop.md", "backprop.ko.md"])
def test_the_python_blocks_of_backprop_md_run(name):
    """The code the reader is invited to run (the im2col/col2im adjoint identity) holds."""
    text = (DOCS / name).read_text()
    blocks = [b for b in text.split("```python\n")[1:]]
    runnable = [b.split("```")[0] for b in blocks if "import" in b.split("```")[0]]
    assert runnable, f"{name} has no runnable python block"
    for code in runnable:
        exec(compile(code, name, "exec"), {})
