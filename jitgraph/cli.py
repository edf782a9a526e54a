"""The ``jitgraph`` command (also ``python -m jitgraph``): inspect what jg.function makes of a
Python function, stage by stage; a thin shell over ``ConcreteFunction.explain``.

    jitgraph show examples/cli_example.py:bias_tanh "float32[None,3], float32[3]"
    jitgraph show examples/cli_example.py:bias_tanh "float32[None,3], float32[3]" --dot
    jitgraph show mypkg.models:loss "float64[8], float64[8]" --stage optimized
    jitgraph demo
"""

import argparse
import ast
import importlib
import importlib.util
import os
import re
import sys

EXIT_USAGE = 2

SIGNATURE_HELP = """\
SIGNATURE is a comma-separated list, one entry per positional argument:
  float32[None,3]   a tensor: dtype, then dims in brackets (None or ? = any size)
  int32[] or int32  a scalar tensor
  2.5, 3, True      a Python value, passed as it is (part of the trace, as in TensorFlow)
dtypes: float16 float32 float64 int32 int64 bool, bfloat16 with ml_dtypes (or f32, i32, ...)."""

EXAMPLES = """\
examples:
  jitgraph show examples/cli_example.py:bias_tanh "float32[None,3], float32[3]"
  jitgraph show examples/cli_example.py:newton_sqrt "float64[4]" --stage optimized
  jitgraph show examples/cli_example.py:newton_sqrt "float64[4]" --dot | dot -Tsvg -o g.svg
  jitgraph show cli_example:scale "float32[2], 3.0"      (module:function on sys.path)
  jitgraph demo"""

STAGES = ("traced", "optimized", "autograph", "llvm", "asm", "ptx")


class UsageError(Exception):
    """A bad target or signature: reported with exit code 2."""


_ITEM = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[([^\]]*)\])?\s*$")


def split_top(text):
    """Splits at commas outside brackets."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "[(" and 1 or (ch in "])" and -1 or 0)
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if depth != 0:
        raise UsageError(f"unbalanced brackets in signature {text!r}")
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()] if text.strip() else []


def parse_signature(text):
    """``"float32[None,3], float32[3], 2.0"`` -> [TensorSpec, TensorSpec, 2.0].

    >>> parse_signature("float32[None,3]")
    """
    import jitgraph as jg

    out = []
    for i, item in enumerate(split_top(text)):
        m = _ITEM.match(item)
        if m and m.group(1) not in ("True", "False", "None"):
            try:
                dtype = jg.as_dtype(m.group(1))
            except (TypeError, ValueError, KeyError):
                raise UsageError(f"signature entry {i + 1} {item!r}: unknown dtype "
                                 f"{m.group(1)!r}") from None
            dims = [] if not m.group(2) else [d.strip() for d in m.group(2).split(",")]
            out.append(jg.TensorSpec([_dim(d, i, item) for d in dims], dtype))
            continue
        try:
            out.append(ast.literal_eval(item))
        except (ValueError, SyntaxError):
            raise UsageError(f"signature entry {i + 1} {item!r} is neither a tensor type like "
                             "float32[None,3] nor a Python literal") from None
    return out


def _dim(d, i, item):
    if d in ("None", "?", "-1"):
        return None
    if d.isdigit():
        return int(d)
    raise UsageError(f"signature entry {i + 1} {item!r}: dimension {d!r} is not a number, "
                     "None or ?")


def load_target(target):
    """The function named by ``path/to/file.py:name`` or ``package.module:name``."""
    where, sep, name = target.rpartition(":")
    if not sep or not where or not name:
        raise UsageError(f"target {target!r} must look like path/to/file.py:function or "
                         "package.module:function")
    if where.endswith(".py") or os.sep in where:
        if not os.path.exists(where):
            raise UsageError(f"no such file: {where}")
        sys.path.insert(0, os.path.dirname(os.path.abspath(where)))
        spec = importlib.util.spec_from_file_location(
            os.path.splitext(os.path.basename(where))[0], where)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(where)
        except ImportError as e:
            raise UsageError(f"cannot import module {where!r}: {e}") from None
    obj = module
    for part in name.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"{where} has no attribute {name!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise UsageError(f"{target} is not a function")
    return obj


def show(args):
    import jitgraph as jg
    from jitgraph.function import Function
    from jitgraph.ir import to_dot

    fn = load_target(args.target)
    specs = parse_signature(args.signature)
    if not isinstance(fn, Function):
        fn = jg.function(fn, backend=args.backend)
    elif args.backend:
        fn = jg.function(fn.python_function, input_signature=fn.input_signature,
                         backend=args.backend)
    cf = fn.get_concrete_function(*specs)
    if args.dot:
        graph = cf.graph
        if args.stage == "optimized":
            from jitgraph import passes
            from jitgraph.ir import copy_graph

            graph = passes.optimize(copy_graph(graph))
        print(to_dot(graph))
    else:
        print(cf.explain(args.stage))
    return 0


def demo(args):
    from jitgraph import demo as _demo

    return _demo.main()


def build_parser():
    p = argparse.ArgumentParser(
        prog="jitgraph",
        description="Inspect the graphs jitgraph traces from Python functions, and the code it "
                    "generates from them.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="{show,demo}")
    s = sub.add_parser(
        "show", help="print a stage of a function's compilation (traced graph by default)",
        description="Trace TARGET for SIGNATURE and print the chosen stage.",
        epilog=SIGNATURE_HELP + "\n\n" + EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("target", help="path/to/file.py:function or package.module:function")
    s.add_argument("signature", nargs="?", default="",
                   help='argument types, e.g. "float32[None,3], float32[3]" (see below)')
    s.add_argument("--stage", choices=STAGES, default="traced",
                   help="what to print (default: traced)")
    s.add_argument("--dot", action="store_true",
                   help="print a Graphviz drawing of the (traced or optimized) graph instead")
    s.add_argument("--backend", default=None,
                   help="backend for --stage llvm/asm/ptx (default: $JITGRAPH_BACKEND, else the "
                        "configured default)")
    s.set_defaults(run=show)
    d = sub.add_parser("demo", help="run a short demo: trace, run and time a function")
    d.set_defaults(run=demo)
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except UsageError as e:
        print(f"jitgraph {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
