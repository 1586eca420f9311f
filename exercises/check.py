"""Check your backward passes against the project's reference engine and finite differences.

    python exercises/check.py                  # every exercise, in reading order
    python exercises/check.py conv relu        # some of them
    python exercises/check.py --solutions      # the same checks on the project's own code
    python exercises/check.py --list           # the exercises and the functions to write

For each function you write, the checker runs a few cases, simplest first, each in float64
with a random upstream gradient: your gradients must match the reference engine's
(minigrad's naive loops, im2col/col2im, ReLU and losses, reached through
exercises/reference.py) and centred finite differences of the given forward. When one is
off it says which entry, by how much, and what that pattern usually means (a sign, a
factor of 2, a transpose, an `=` where `+=` belongs, a mask on the wrong side ...). It
never prints a solution. Exit status: 0 when every checked function passes, 1 otherwise
(a function still raising NotImplementedError is named as unfinished), 2 for a bad name.
"""
import argparse
import importlib
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if sys.path and Path(sys.path[0] or ".").resolve() == HERE:
    sys.path.pop(0)                   # run as a script: don't let conv.py, style.py ... shadow modules
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))     # import minigrad and exercises from this checkout

from exercises import reference as ref  # noqa: E402
from exercises.cases import EXERCISES  # noqa: E402
from exercises.diagnose import CHECKER_FILES, NO_PATTERN  # noqa: E402
from exercises.harness import Failure  # noqa: E402


class Result:
    """The outcome for one function: status is pass, fail, unfinished or blocked."""

    def __init__(self, exercise, function, status, lines=()):
        self.exercise, self.function, self.status, self.lines = exercise, function, status, list(lines)

    def __repr__(self):
        return f"Result({self.exercise}.{self.function}: {self.status})"


def module(name):
    return importlib.import_module(f"exercises.{name}")


@contextmanager
def replaced(functions):
    """Temporarily set exercise functions by name ({'relu_backward': fn, ...}) in their modules."""
    saved = []
    try:
        for name, (fnames, _, _) in EXERCISES.items():
            try:
                mod = module(name)
            except Exception:                                # reported by check(), not here
                continue
            for f in fnames:
                if f in functions:
                    saved.append((mod, f, getattr(mod, f)))
                    setattr(mod, f, functions[f])
        yield
    finally:
        for mod, f, fn in reversed(saved):
            setattr(mod, f, fn)


def solutions():
    """The project's own implementation of every function a learner writes."""
    return {f: getattr(ref, f) for fnames, _, _ in EXERCISES.values() for f in fnames}


def unfinished_where(exc):
    """(function, file) of the learner's function that raised NotImplementedError."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename).resolve()
        if path.parent == HERE and path.name not in CHECKER_FILES:
            return frame.name, path.name
    return None, None


def check_function(exercise, function, cases):
    """Run the cases in order; the first failure, or NotImplementedError, ends the check."""
    for n, case in enumerate(cases, start=1):
        try:
            case.run()
        except NotImplementedError as exc:
            raiser, file = unfinished_where(exc)
            if raiser in (function, None):
                return Result(exercise, function, "unfinished",
                              [f"still raises NotImplementedError (exercises/{exercise}.py)"])
            return Result(exercise, function, "blocked",
                          [f"it calls {raiser} (exercises/{file}), which is unfinished: "
                           "do that exercise first"])
        except Failure as failure:
            head = f"case {n} of {len(cases)}: {case.label}"
            if n > 1:
                head += f"  (cases 1-{n - 1} passed)" if n > 2 else "  (case 1 passed)"
            lines = [head, *failure.lines]
            new = case.new if n > 1 else None           # what this case adds to the passed ones
            if failure.cause:
                lines.append("Likely cause: " + failure.cause)
                if new and not (failure.raised or failure.whole):
                    lines.append("What this case adds: " + new)
            else:
                lines.append("Likely cause: " + (new or NO_PATTERN))
            lines.append(f"Read: docs/backprop.md, section {EXERCISES[exercise][1]}.")
            return Result(exercise, function, "fail", lines)
    return Result(exercise, function, "pass")


def check(names=None, use_solutions=False, functions=None):
    """[Result] for the named exercises (all by default). use_solutions checks the project's
    own implementations; `functions` ({name: fn}) replaces some learner functions (the tests'
    deliberately wrong ones)."""
    names = names or list(EXERCISES)
    chosen = {**(solutions() if use_solutions else {}), **(functions or {})}
    results = []
    with replaced(chosen):
        for name in names:
            fnames, _, make_cases = EXERCISES[name]
            try:
                cases = make_cases(module(name))
            except Exception as exc:                         # a learner's file that does not import
                results += [Result(name, f, "fail", [f"exercises/{name}.py does not import: "
                                                     f"{type(exc).__name__}: {exc}"]) for f in fnames]
                continue
            results += [check_function(name, f, cases[f]) for f in fnames]
    return results


def report(results, out=sys.stdout):
    """Print one line per function, then the details of each failure."""
    marks = {"pass": "ok", "fail": "FAIL", "unfinished": "unfinished", "blocked": "blocked"}
    for r in results:
        detail = r.lines[0] if r.status in ("unfinished", "blocked") else ""
        print(f"  {r.exercise:<10} {r.function:<24} {marks[r.status]:<10} {detail}".rstrip(), file=out)
    for r in results:
        if r.status == "fail":
            print(f"\n{r.exercise}: {r.function} FAILS", file=out)
            for line in r.lines:
                print(f"  {line}", file=out)
    passed = sum(r.status == "pass" for r in results)
    print(f"\n{passed} of {len(results)} functions pass.", file=out)
    todo = [r.function for r in results if r.status == "unfinished"]
    if todo:
        print(f"Unfinished: {', '.join(todo)}.", file=out)


def main(argv=None):
    p = argparse.ArgumentParser(prog="exercises/check.py", description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="*", metavar="NAME", help=f"exercises: {', '.join(EXERCISES)}")
    p.add_argument("--solutions", action="store_true",
                   help="check the project's own implementations instead of yours")
    p.add_argument("--list", action="store_true", help="list the exercises and stop")
    args = p.parse_args(argv)
    unknown = [n for n in args.names if n not in EXERCISES]
    if unknown:
        p.error(f"unknown exercise {', '.join(unknown)}; choose from {', '.join(EXERCISES)}")
    if args.list:
        for name, (fnames, section, _) in EXERCISES.items():
            print(f"  {name:<10} exercises/{name + '.py':<14} {', '.join(fnames):<42} "
                  f"docs/backprop.md {section}")
        return 0
    whose = "the project's own implementations" if args.solutions else "your functions"
    print(f"Checking {whose} against the reference engine and centred finite differences "
          "(float64, random upstream gradients):")
    results = check(args.names, use_solutions=args.solutions)
    report(results)
    return 0 if all(r.status == "pass" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
