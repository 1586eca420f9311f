"""The shape of the code: imports that run one way, an engine contract both engines keep.

The import graph is read from the source (ast), every import counted -- at the top of a
file or inside a function, `import a.b` or `from a import b` -- over minigrad/, vgg/ and
the programs at the top of the repository. No module may import one that imports it
back, directly or through others: a reader can then take the modules in an order where
each uses only what came before.
"""
import ast
import inspect
from pathlib import Path

from minigrad import reference
from minigrad.engines import Engine, get_engine

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("minigrad", "vgg")
PROGRAMS = ("stylize.py", "figures.py", "explain.py")


def module_name(path):
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules():
    """{module name: path} of every module of the packages, and the programs."""
    found = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    found.update({name[:-3]: ROOT / name for name in PROGRAMS})
    return found


def imports(name, path, known):
    """The project modules `name` imports (absolute names), wherever the import stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from a import b` imports a.b when b is a module, else a
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        else:
            continue
        out.update(t for t in targets if t in known and t != name)
    return out


def cycles(graph):
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))
    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_one_that_imports_it_back():
    known = modules()
    graph = {name: imports(name, path, known) for name, path in known.items()}
    assert graph["minigrad.layers"] >= {"minigrad.engines"}          # the graph was read
    assert cycles(graph) == []


def test_the_weights_package_needs_nothing_of_minigrad():
    known = modules()
    weights = [n for n in known if n.startswith("vgg.weights")]
    for name in weights:
        assert not any(t.startswith("minigrad") for t in imports(name, known[name], known)), name


def test_imports_run_one_way_through_the_engines():
    """layers -> engines -> reference -> conv, pool, relu; the fast engine -> the reference's
    pieces, never back; the reference engine's files import nothing of the fast one."""
    known = modules()
    graph = {name: imports(name, path, known) for name, path in known.items()}
    assert "minigrad.engines" in graph["minigrad.layers"]
    assert {"minigrad.conv", "minigrad.pool", "minigrad.relu"} <= graph["minigrad.reference"]
    for name in ("minigrad.conv", "minigrad.pool", "minigrad.relu", "minigrad.reference"):
        assert not any(t.startswith("minigrad.fast") or t in ("minigrad.layers", "minigrad.engines")
                       for t in graph[name]), name


def test_both_engines_keep_the_contract():
    """The eight functions of minigrad.engines.Engine, with its argument names, on each."""
    for engine in (reference, get_engine("fast")):
        assert isinstance(engine, Engine)
        for name, spec in inspect.getmembers(Engine, inspect.isfunction):
            if name.startswith("_"):
                continue
            wanted = [p for p in inspect.signature(spec).parameters if p != "self"]
            got = list(inspect.signature(getattr(engine, name)).parameters)
            assert got == wanted, (engine, name, got)
