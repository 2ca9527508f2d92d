"""Command line: ``npdiff OPERATOR path/to/file.py:func --shape 3,3 --shape 3``.

Prints the generated NumPy source of the operator applied to the function
(``-o FILE`` writes an importable module instead, through ``export`` or
``transform``, i.e. ``writer.ModuleWriter``). Errors are reported on one
line, ``npdiff: error: ...``, with exit status 2.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import os
import re
import sys
from collections.abc import Callable

__all__ = ["main"]


class CLIError(Exception):
    """A user error reported on one line."""


# name -> (family, one-line description)
JAX_OPS = {
    "numpify": "the function itself, as plain NumPy source",
    "grad": "gradient of a scalar function",
    "value_and_grad": "(value, gradient) of a scalar function",
    "jacfwd": "Jacobian (forward mode), shape out.shape + in.shape",
    "jacrev": "Jacobian (reverse mode), shape out.shape + in.shape",
    "jacobian": "Jacobian, forward or reverse mode chosen by sizes",
    "hessian": "Hessian of a scalar function, shape in.shape + in.shape",
    "hvp": "Hessian-vector product: hvp(*args, v)",
    "jvp": "forward mode: jvp(*primals, *tangents) -> (out, tangent_out)",
    "vjp": "reverse mode: vjp(*primals) -> (out, pullback), pullback(ct) -> cotangents",
    "linearize": "linearize(*primals) -> (out, f_jvp), f_jvp(*tangents) -> tangent_out",
    "transform": "Numpy2AD-style adjoint f_ad(x, ..., x_a, ..., out_a) (--shape optional: generic without)",
}
DIFFOPS = {
    "gradient": "SymNum-style gradient",
    "hessian": "SymNum-style Hessian",
    "jacobian": "SymNum-style Jacobian",
    "hessian_vector_product": "SymNum-style hvp(x)(v)",
    "jacobian_vector_product": "SymNum-style jvp(x)(v)",
    "vector_jacobian_product": "SymNum-style vjp(x)(v)",
    "matrix_hessian_product": "SymNum-style mhp(x)(m), matrix-Hessian product",
    "matrix_tressian_product": "SymNum-style mtp(x)(m), matrix-Tressian product",
}
MICI_OPS = {
    "grad_and_value": "Mici-style (grad, value)",
    "jacobian_and_value": "Mici-style (jacobian, value)",
    "hessian_grad_and_value": "Mici-style (hessian, grad, value)",
    "vjp_and_value": "Mici-style (vjp, value)",
    "mhp_jacobian_and_value": "Mici-style (mhp, jacobian, value)",
    "mtp_hessian_grad_and_value": "Mici-style (mtp, hessian, grad, value)",
}


# --------------------------------------------------------------------------
# Argument parsing.
# --------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """Reports usage errors on one line with exit status 2."""

    def error(self, message):
        self.exit(2, f"npdiff: error: {message} (see '{self.prog} --help')\n")


def parse_shape(text: str) -> tuple:
    """Return the shape written as '3,3', '3', '3x4', '(3, 3)', '' or 'scalar'."""
    t = text.strip()
    if t.startswith(("(", "[")) and t.endswith((")", "]")):
        t = t[1:-1].strip()
    if t in ("", "scalar", "()"):
        return ()
    parts = [p.strip() for p in re.split(r"[,x\u00d7]", t)]
    if len(parts) > 1 and parts[-1] == "" and t.rstrip()[-1] == ",":  # '3,' as Python writes (3,)
        parts = parts[:-1]
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise CLIError(f"bad shape {text!r}: expected comma-separated non-negative integers "
                       f"such as 3,3 (or 'scalar' for a 0-d argument)") from None
    if any(d < 0 for d in dims):
        raise CLIError(f"bad shape {text!r}: dimensions must be non-negative")
    return dims


def parse_argnums(text):
    if text is None:
        return None
    try:
        nums = tuple(int(p) for p in text.replace("(", "").replace(")", "").split(",") if p.strip())
    except ValueError:
        raise CLIError(f"bad --argnums {text!r}: expected an integer or comma-separated integers") from None
    if not nums:
        raise CLIError(f"bad --argnums {text!r}: expected an integer or comma-separated integers")
    return nums[0] if len(nums) == 1 and "," not in text else nums


def _formatter(prog):
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=36, width=118)


def _build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("target", help="the function: path/to/file.py:func or package.module:func")
    common.add_argument("--shape", action="append", default=[], metavar="SHAPE",
                        help="shape of one argument, e.g. 3,3 (repeat per argument, in order; "
                             "'scalar' or '' for a 0-d argument)")
    common.add_argument("--dtype", action="append", default=[], metavar="DTYPE",
                        help="float64 (default) or float32; once for all arguments or repeated per argument")
    common.add_argument("--argnums", default=None,
                        help="argument(s) to differentiate with respect to, e.g. 0 or 0,1")
    common.add_argument("--has-aux", action="store_true",
                        help="the function returns (output, aux) (grad, value_and_grad, jac*)")
    common.add_argument("-o", "--output", metavar="FILE",
                        help="write an importable module to FILE instead of printing the source "
                             "(constant arrays too large to print go to FILE's .npz beside it)")

    from . import __version__
    parser = _Parser(
        prog="npdiff",
        description="Differentiate a plain NumPy function and print the generated NumPy source.",
        epilog="examples:\n"
               "  npdiff grad model.py:loss --shape 3\n"
               "  npdiff hessian model.py:loss --shape 3 -o loss_hessian.py\n"
               "  npdiff transform model.py:gls                       (shape-generic adjoint)\n"
               "  npdiff transform model.py:gls --shape 5,2 --shape 5,5 --shape 5\n"
               "Run 'npdiff OPERATOR --help' for the options of one operator.",
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"npdiff {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="OPERATOR", title="operators",
                                parser_class=_Parser)
    sub.required = True
    for name, desc in JAX_OPS.items():
        sub.add_parser(name, parents=[common], help=desc, description=desc, formatter_class=_formatter)
    for name, desc in DIFFOPS.items():
        aliases = [] if name in JAX_OPS else [name]
        sub.add_parser(f"diffops.{name}", aliases=aliases, parents=[common], help=desc, description=desc,
                       formatter_class=_formatter)
    for name, desc in MICI_OPS.items():
        sub.add_parser(name, parents=[common], help=desc, description=desc, formatter_class=_formatter)
    _add_show_parser(sub, common)
    return parser


# --------------------------------------------------------------------------
# Loading the target function.
# --------------------------------------------------------------------------

def load_target(target: str) -> Callable:
    """Return the function named by 'path/to/file.py:func' or 'package.module:func'."""
    if ":" not in target:
        raise CLIError(f"bad target {target!r}: expected path/to/file.py:function or module:function")
    where, _, attr = target.rpartition(":")
    if not where or not attr:
        raise CLIError(f"bad target {target!r}: expected path/to/file.py:function or module:function")
    is_path = where.endswith(".py") or os.sep in where or "/" in where or os.path.exists(where)
    if is_path:
        path = os.path.abspath(where)
        if not os.path.isfile(path):
            raise CLIError(f"no such file: {where}")
        mod_name = "_npdiff_cli_" + re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0]) \
            + f"_{abs(hash(path)):x}"
        spec = importlib.util.spec_from_file_location(mod_name, path)
        if spec is None or spec.loader is None:
            raise CLIError(f"cannot load {where} as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        folder = os.path.dirname(path)
        sys.path.insert(0, folder)
        try:
            spec.loader.exec_module(module)
        except SyntaxError as exc:
            raise CLIError(f"cannot load {where}: syntax error at line {exc.lineno}: {exc.msg}") from None
        except Exception as exc:
            raise CLIError(f"cannot load {where}: {type(exc).__name__}: {exc}") from None
        finally:
            try:
                sys.path.remove(folder)
            except ValueError:
                pass
    else:
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(where)
        except ModuleNotFoundError as exc:
            raise CLIError(f"cannot import module {where!r}: {exc}") from None
        except Exception as exc:
            raise CLIError(f"cannot import module {where!r}: {type(exc).__name__}: {exc}") from None
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise CLIError(f"{where} has no function {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise CLIError(f"{where}:{attr} is not a function (it is a {type(obj).__name__})")
    return obj


def _positional_names(func) -> tuple[list[str], int] | None:
    """Return (positional parameter names, number required), or None when unknown."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    names, required = [], 0
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
            if p.default is p.empty:
                required += 1
        elif p.kind == p.VAR_POSITIONAL:
            return None
    return names, required


def _specs(args, func, fname, op, optional=False) -> list:
    import numpy as np

    from .api.core import ShapeDtype
    shapes = [parse_shape(s) for s in args.shape]
    info = _positional_names(func)
    if info is not None:
        names, required = info
        if not shapes and optional:
            return []
        if not (required <= len(shapes) <= len(names)):
            want = f"{required}" if required == len(names) else f"{required} to {len(names)}"
            listed = ", ".join(names) or "none"
            raise CLIError(f"{fname} takes {want} argument(s) ({listed}) but {len(shapes)} --shape "
                           f"option(s) were given; pass one --shape per argument, e.g. --shape 3,3")
    elif not shapes and not optional:
        raise CLIError(f"{op} needs one --shape per argument of {fname}")
    dtypes = []
    for d in args.dtype:
        try:
            dt = np.dtype(d)
        except TypeError:
            raise CLIError(f"bad --dtype {d!r}: expected float64 or float32") from None
        if dt.kind not in "fc":
            raise CLIError(f"bad --dtype {d!r}: expected a floating-point dtype such as float64 or float32")
        dtypes.append(dt)
    if not dtypes:
        dtypes = [np.dtype(np.float64)] * len(shapes)
    elif len(dtypes) == 1:
        dtypes = dtypes * len(shapes)
    elif len(dtypes) != len(shapes):
        raise CLIError(f"{len(dtypes)} --dtype options for {len(shapes)} arguments; "
                       "give one --dtype for all arguments or one per --shape")
    return [ShapeDtype(s, d) for s, d in zip(shapes, dtypes)]


# --------------------------------------------------------------------------
# Operators.
# --------------------------------------------------------------------------

def _eager_gf(kind: str, func, specs):
    """GeneratedFunction of jvp / vjp / linearize at primals of these shapes."""
    from .api.core import aval
    from .api.jax_style import eager_function
    return eager_function(kind, func, [aval(s) for s in specs])


def _lazy_import(module: str, what: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise CLIError(f"{what} are not available in this npdiff installation ({exc})") from None


def build_function(op: str, func, args):
    """Return a GeneratedFunction, or the source text for ``transform``."""
    import npdiff
    fname = getattr(func, "__name__", "function")
    argnums = parse_argnums(args.argnums)
    if op == "transform":
        specs = _specs(args, func, fname, op, optional=True)
        return npdiff.transform(func, *specs, out_file=args.output)
    specs = _specs(args, func, fname, op)
    if op == "numpify":
        return npdiff.numpify(func, *specs)
    if op in ("grad", "value_and_grad"):
        return getattr(npdiff, op)(func, argnums=0 if argnums is None else argnums,
                                   has_aux=args.has_aux).specialize(*specs)
    if op in ("jacfwd", "jacrev", "jacobian"):
        return getattr(npdiff, op)(func, argnums=argnums, has_aux=args.has_aux).specialize(*specs)
    if op == "hessian":
        return npdiff.hessian(func, argnums=0 if argnums is None else argnums).specialize(*specs)
    if op == "hvp":
        num = 0 if argnums is None else argnums
        if not isinstance(num, int):
            raise CLIError("hvp from the command line takes a single --argnums")
        if not specs:
            raise CLIError(f"hvp needs one --shape per argument of {fname}")
        lf = npdiff.hvp(func, argnums=num)
        build = getattr(lf, "_build", None)
        if build is None:  # pragma: no cover - LazyFunction keeps its builder
            return lf.specialize(*specs, specs[num])
        from .api.core import arg_names, aval, generate
        names = arg_names(func, len(specs))
        v = "v"
        while v in names:
            v += "_"
        avals = [aval(s) for s in specs]
        return generate(lf.__name__, names + [v], avals + [avals[num]], build,
                        doc="Return the Hessian-vector product.")
    if op in ("jvp", "vjp", "linearize"):
        return _eager_gf(op, func, specs)
    if op.startswith("diffops."):
        diffops = _lazy_import("npdiff.diffops", "the diffops operators")
        name = op.split(".", 1)[1]
        fn = getattr(diffops, name, None)
        if fn is None:
            raise CLIError(f"npdiff.diffops has no operator {name!r} in this installation")
        return fn(func, *specs, wrt=0 if argnums is None else argnums)
    if op in MICI_OPS:
        fn = getattr(npdiff, op, None)
        if fn is None:
            raise CLIError(f"the Mici-style operator {op!r} is not available in this npdiff installation")
        if len(specs) != 1:
            raise CLIError(f"{op} takes functions of one array argument; give exactly one --shape")
        res = fn(func)
        if hasattr(res, "source") and hasattr(res, "consts") and not hasattr(res, "specialize"):
            return res
        if hasattr(res, "specialize"):
            return res.specialize(*specs)
        raise CLIError(f"npdiff.{op} does not expose generated source")
    raise CLIError(f"unknown operator {op!r}")  # pragma: no cover - argparse checks choices


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, CLIError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def main(argv=None) -> int:
    """Run the command line; return the exit status (0, or 2 on errors)."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    op = args.command
    if op in DIFFOPS and op not in JAX_OPS:
        op = f"diffops.{op}"
    try:
        func = load_target(args.target)
        if op == "show":
            return _show(func, args)
        result = build_function(op, func, args)
        if isinstance(result, str):  # transform
            text = result
            if args.output:
                print(f"npdiff: wrote {args.output}", file=sys.stderr)
                return 0
        else:
            from .emit.export import export, module_text
            key = result.__name__ if result.__name__.isidentifier() else "f"
            if args.output:
                written = export({key: result}, args.output)
                print(f"npdiff: wrote {' and '.join(written)} (defines {key})", file=sys.stderr)
                return 0
            text, _ = module_text({key: result}, None, constants="inline", flat=True)  # complete, importable
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:  # e.g. piped into head
            try:
                sys.stdout = open(os.devnull, "w")
            except OSError:
                pass
        return 0
    except KeyboardInterrupt:
        print("npdiff: error: interrupted", file=sys.stderr)
        return 2
    except RecursionError:
        print("npdiff: error: recursion too deep while tracing the function", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - every error is reported on one line
        print(f"npdiff: error: {_one_line(exc)}", file=sys.stderr)
        return 2


# --------------------------------------------------------------------------
# ``npdiff show``: graph size and numbered generated source.
# --------------------------------------------------------------------------

SHOW_DESC = "traced graph size and the generated source with line numbers (--op picks the operator)"


def _add_show_parser(sub, common) -> None:
    ops = list(JAX_OPS) + [f"diffops.{n}" for n in DIFFOPS] + list(MICI_OPS)
    p = sub.add_parser("show", parents=[common], help=SHOW_DESC, description=SHOW_DESC,
                       formatter_class=_formatter)
    p.add_argument("--op", default="numpify", choices=ops, metavar="OPERATOR",
                   help="operator whose generated source is shown (default: numpify, the function itself)")


def show_text(func, args) -> str:
    """Return the report of ``npdiff show``: graph sizes, then the numbered source."""
    from .api.core import aval
    from .ir.graph import Node, toposort
    from .ir.pytree import tree_flatten
    from .tracing.tracer import trace
    fname = getattr(func, "__name__", "function")
    specs = _specs(args, func, fname, "show")
    _, out = trace(func, [aval(s) for s in specs])
    nodes = toposort([leaf for leaf in tree_flatten(out)[0] if isinstance(leaf, Node)])
    n_in = sum(n.op == "input" for n in nodes)
    n_const = sum(n.op == "const" for n in nodes)
    shapes = ", ".join(str(tuple(s.shape)) for s in specs) or "no arguments"
    result = build_function(args.op, func, args)
    source = result if isinstance(result, str) else result.source
    lines = source.rstrip("\n").splitlines()
    width = len(str(len(lines)))
    head = [f"# {args.op} of {fname} for shapes {shapes}",
            f"# traced graph of {fname}: {len(nodes)} nodes ({len(nodes) - n_in - n_const} operations, "
            f"{n_const} constants, {n_in} inputs)",
            f"# generated source: {len(lines)} lines"]
    return "\n".join(head + [f"{i:>{width}}  {line}".rstrip() for i, line in enumerate(lines, 1)]) + "\n"


def _show(func, args) -> int:
    text = show_text(func, args)
    if args.output:
        with open(args.output, "w") as fh:
            fh.write(text)
        print(f"npdiff: wrote {args.output}", file=sys.stderr)
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
