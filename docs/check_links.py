"""Keep the docs' links to lines of code pointing at the right lines.

    python docs/check_links.py          # report every stale or broken link; exit 1 if any
    python docs/check_links.py --fix    # rewrite the line numbers to where the code is now

The documents in docs/ cite code as relative Markdown links to a span of lines,

    [minigrad/conv.py, lines 57-79](../minigrad/conv.py#L57-L79) <!-- anchor: def conv2d_backward_naive -->

and line numbers move whenever the code is edited. So every such link names an
ANCHOR, a piece of text that the first cited line contains:
  * an HTML comment right after the link, `<!-- anchor: TEXT -->`; TEXT may be a
    path, `class ReLU > def backward`: the first `def backward` after `class ReLU`;
  * or, without a comment, the link text names a function or class defined in the
    file (`[conv2d_backward_naive](../minigrad/conv.py#L57-L79)`).
The anchor (its first step) must match exactly one line: write `def conv2d_backward(`
with the parenthesis, or it also matches `def conv2d_backward_naive`. The span runs from the anchor's line
to the end of the block it opens (a def, a class: the last line indented under
it), or to the first line after it containing END when the comment says
`<!-- anchor: TEXT ; end: END -->`; a line that opens no block is a span of one.
A "lines X-Y" (or "line X") in the link text is kept in step with the link, and so is the
Korean "X-Y행" (or "X행").

Every other relative link (an image, another document) must name a file that exists.

A translation, NAME.ko.md beside NAME.md, must cite exactly the code its original cites:
the same targets with the same anchors, as many times each (its link texts are its own).
"""
import argparse
import re
import sys
from collections import Counter
from pathlib import Path

DOCS = Path(__file__).resolve().parent

# [text](target) optionally followed by <!-- anchor: ... -->. Images (![..](..)) are links too.
LINK = re.compile(r"\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)\)"
                  r"(?P<comment>[ \t]*<!--\s*anchor:\s*(?P<anchor>.*?)\s*-->)?")
LINES = re.compile(r"^(?P<path>[^#]+)#L(?P<first>\d+)(?:-L(?P<last>\d+))?$")
TEXT_LINES = re.compile(r"\blines? \d+(?:-\d+)?")
TEXT_LINES_KO = re.compile(r"\b\d+(?:-\d+)?행")                     # "60-81행", "60행"
DEF = re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+(\w+)")


class LinkError(Exception):
    pass


def _find(lines, text, start=0):
    """Indices (0-based, from `start`) of the lines that contain `text`."""
    return [i for i in range(start, len(lines)) if text in lines[i]]


def locate(lines, anchor):
    """(first, last), 1-based, of the span an anchor names in a file's lines."""
    start_text, _, end_text = (part.strip() for part in anchor.partition("; end:"))
    steps = [s.strip() for s in start_text.split(" > ")]
    at = 0
    for k, step in enumerate(steps):
        hits = _find(lines, step, at)
        if not hits:
            raise LinkError(f"anchor text {step!r} not found")
        if k == 0 and len(hits) > 1:
            where = ", ".join(str(i + 1) for i in hits[:5])
            raise LinkError(f"anchor text {step!r} is ambiguous (lines {where}); "
                            "make it longer or qualify it: 'class X > def y'")
        at = hits[0]
    first = at
    if end_text:
        hits = _find(lines, end_text, first)
        if not hits:
            raise LinkError(f"end anchor {end_text!r} not found after line {first + 1}")
        return first + 1, hits[0] + 1
    return first + 1, block_end(lines, first) + 1


def block_end(lines, first):
    """Last line (0-based) of the def/class block that opens at `first`; `first` if none does."""
    if not DEF.match(lines[first]):
        return first
    indent = len(lines[first]) - len(lines[first].lstrip())
    last = first
    for i in range(first + 1, len(lines)):
        stripped = lines[i].strip()
        if not stripped:
            continue
        if len(lines[i]) - len(lines[i].lstrip()) <= indent:
            break
        last = i
    return last


def anchor_from_text(text, lines):
    """The def/class a link's text names: an identifier in the text defined in the file."""
    defined = {}
    for line in lines:
        m = DEF.match(line)
        if m:
            defined.setdefault(m.group(1), []).append(line.strip())
    names = [w for w in re.findall(r"\w+", text.replace("`", "")) if w in defined]
    names = list(dict.fromkeys(names))
    if len(names) != 1:
        raise LinkError("the link names no anchor: add <!-- anchor: TEXT --> after it, "
                        "or name exactly one def/class of the file in the link text")
    name = names[0]
    if len(defined[name]) > 1:
        raise LinkError(f"{name} is defined more than once in the file: "
                        "add <!-- anchor: class X > def name --> after the link")
    line = defined[name][0]                  # 'def f(x, y):' -> 'def f(': no longer names match
    return line.split("(")[0] + "(" if "(" in line else line


def check_document(doc, fix=False):
    """Problems in one document, as 'doc:line: message' strings; with fix, rewrite it."""
    text = doc.read_text()
    problems = []
    out_lines = []
    for n, line in enumerate(text.split("\n"), start=1):
        def replace(m):
            target = m.group("target")
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                return m.group(0)                              # http(s):, mailto:, in-page anchors
            spec = LINES.match(target)
            path = (doc.parent / (spec.group("path") if spec else target.split("#")[0])).resolve()
            if not path.is_file():
                problems.append(f"{doc.name}:{n}: {target}: no such file")
                return m.group(0)
            if not spec:
                return m.group(0)
            code = path.read_text().split("\n")
            try:
                anchor = m.group("anchor") or anchor_from_text(m.group("text"), code)
                first, last = locate(code, anchor)
            except LinkError as e:
                problems.append(f"{doc.name}:{n}: {target}: {e}")
                return m.group(0)
            old = (int(spec.group("first")), int(spec.group("last") or spec.group("first")))
            if old == (first, last):
                return m.group(0)
            lines_text = f"lines {first}-{last}" if last > first else f"line {first}"
            lines_text_ko = f"{first}-{last}행" if last > first else f"{first}행"
            problems.append(f"{doc.name}:{n}: {target} should be #L{first}-L{last} "
                            f"(anchor {anchor!r})")
            new_target = f"{spec.group('path')}#L{first}-L{last}"
            new_text = TEXT_LINES.sub(lines_text, m.group("text"))
            new_text = TEXT_LINES_KO.sub(lines_text_ko, new_text)
            return f"[{new_text}]({new_target}){m.group('comment') or ''}"
        out_lines.append(LINK.sub(replace, line))
    if fix:
        new = "\n".join(out_lines)
        if new != text:
            doc.write_text(new)
    return problems


def code_links(text):
    """Counter of (target, anchor) for every link to lines of code in a document's text."""
    return Counter((m.group("target"), m.group("anchor") or "") for m in LINK.finditer(text)
                   if LINES.match(m.group("target")))


def original_of(doc):
    """NAME.md for a translation NAME.ko.md (None for a document that is no translation)."""
    return doc.with_name(doc.name[:-len(".ko.md")] + ".md") if doc.name.endswith(".ko.md") else None


def translation_problems(doc):
    """Where a translation cites other code than its original: 'doc: message' strings."""
    original = original_of(doc)
    if original is None:
        return []
    if not original.is_file():
        return [f"{doc.name}: a translation of {original.name}, which does not exist"]
    ours, theirs = code_links(doc.read_text()), code_links(original.read_text())
    problems = []
    for (target, anchor), n in sorted((theirs - ours).items()):
        problems.append(f"{doc.name}: {original.name} cites {target} (anchor {anchor!r}) "
                        f"{n} more time(s); cite it here too")
    for (target, anchor), n in sorted((ours - theirs).items()):
        problems.append(f"{doc.name}: cites {target} (anchor {anchor!r}) {n} more time(s) "
                        f"than {original.name}")
    return problems


def main(argv=None):
    p = argparse.ArgumentParser(prog="docs/check_links.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--fix", action="store_true", help="rewrite stale line numbers in place")
    p.add_argument("docs", nargs="*", type=Path, help="documents (default: docs/*.md)")
    args = p.parse_args(argv)
    docs = args.docs or sorted(DOCS.glob("*.md"))
    problems = [msg for doc in docs for msg in check_document(doc, fix=args.fix)]
    problems += [msg for doc in docs for msg in translation_problems(doc)]
    for msg in problems:
        print(msg)
    if args.fix:
        stale = [m for m in problems if " should be " in m]
        broken = [m for m in problems if " should be " not in m]
        print(f"fixed {len(stale)} link(s); {len(broken)} problem(s) need a person")
        return 1 if broken else 0
    print(f"{len(problems)} problem(s) in {len(docs)} document(s)" if problems
          else f"all links in {len(docs)} document(s) point at their anchors")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
