"""Build a notebook from its text source, and run it: notebooks/NAME.py -> notebooks/NAME.ipynb.

    python notebooks/build.py                     # content_loss: convert, run, write (minutes)
    python notebooks/build.py --no-execute        # convert only, no outputs
    python notebooks/build.py --set SIZE=32 STEPS=3 --output /tmp/quick.ipynb

The source is a jupytext percent-format .py file, so that a diff of it reads like a diff
of code; the .ipynb, with its pictures, is what it builds. `--set` overrides parameters
the way papermill does: a cell of assignments inserted after the cell tagged
"parameters". Execution uses nbclient with the python3 kernel of this interpreter, in the
notebook's own folder. tests/test_notebook.py checks that the committed .ipynb has the
cells of its source and runs the source at a small size.
"""
import argparse
import ast
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def read_source(path):
    """The notebook (nbformat) that the jupytext source at `path` describes, without outputs."""
    import jupytext
    return jupytext.read(path)


def cells_of(nb):
    """[(cell type, source)]: what a notebook says, leaving out outputs and metadata."""
    return [(cell.cell_type, cell.source) for cell in nb.cells]


def with_parameters(nb, parameters):
    """A copy of nb with a cell setting `parameters` ({name: value}) after the 'parameters' cell."""
    import nbformat
    nb = nbformat.from_dict(nb)                                  # a deep copy
    tagged = [i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", [])]
    if not tagged:
        raise ValueError("the notebook has no cell tagged 'parameters'")
    source = "# Parameters set by notebooks/build.py\n" + "".join(
        f"{name} = {value!r}\n" for name, value in parameters.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(tagged[0] + 1, cell)
    return nb


def execute(nb, cwd=HERE, timeout=1200):
    """Run every cell in order (nbclient, kernel python3); raise on the first error."""
    from nbclient import NotebookClient
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def parse_setting(text):
    """'SIZE=32' -> ('SIZE', 32): the value is a Python literal, else a string."""
    name, _, value = text.partition("=")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def main(argv=None):
    p = argparse.ArgumentParser(prog="notebooks/build.py", description=__doc__.split("\n\n")[0])
    p.add_argument("name", nargs="?", default="content_loss", help="notebook name (default: content_loss)")
    p.add_argument("--no-execute", action="store_true", help="convert only")
    p.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="override parameters")
    p.add_argument("--output", type=Path, help="where to write (default: notebooks/NAME.ipynb)")
    args = p.parse_args(argv)
    import nbformat
    nb = read_source(HERE / f"{args.name}.py")
    if args.set:
        nb = with_parameters(nb, dict(parse_setting(s) for s in args.set))
    if not args.no_execute:
        t0 = time.perf_counter()
        execute(nb)
        print(f"ran {args.name} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    out = args.output or HERE / f"{args.name}.ipynb"
    nbformat.write(nb, out)
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
