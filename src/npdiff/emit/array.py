"""Emit: schedule a graph as straight-line NumPy source.

Arguments keep the user's names, intermediates are named after their
operation, constants are hoisted out of the function body (``writer``'s
constants policy decides literal or stored), and arrays the function owns
are updated in place. The function is assembled by a ``writer.ModuleWriter``,
which records the modules the statements use.
"""
from __future__ import annotations

import keyword
from functools import lru_cache

import numpy as np

from ..ir.graph import Node, depends_on, toposort
from ..ir.pytree import tree_flatten
from ..primitives import PRIMS
from ..primitives.registry import owns_result, short_name
from .loops import BLOCKS
from .writer import ModuleWriter, literal

INPLACE_UNARY_MIN = 4096  # np.f(a, out=a) pays off only for large arrays
DEL_MIN = 4096  # temporaries at least this large are deleted at their last use (peak memory)


def _owns(node: Node) -> bool:
    """Return True if node's emitted expression never returns a view of an argument (0-d included)."""
    owns = PRIMS[node.op].owns
    return bool(owns(node) if callable(owns) else owns)


@lru_cache(maxsize=4096)
def _ident(name: str) -> str:
    """Return name made a valid Python identifier (other characters become underscores)."""
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name) or "x"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = "_" + name
    return name


class Emitter:
    """Turns graph nodes into lines of NumPy source, sharing names across calls."""

    def __init__(self, writer: ModuleWriter | None = None):
        self.writer = writer or ModuleWriter()  # holds the constants and records the imports
        self.names: dict[int, str] = {}
        self.used: set[str] = {"np", "math", "scipy", "abs", "max", "min", "float", "bool", "int", "sum",
                                "len", "range", "pow", "round", "_bad_shape", "_path_changed"}
        self.counts: dict[str, int] = {}
        self.deleted = False  # some temporary has been deleted (``del``) by an earlier ``emit``

    def to_emit(self, outputs: list[Node]) -> list[Node]:
        """Return the nodes outputs need that are not named yet (constants aside), each after its arguments.

        Once an earlier ``emit`` has deleted temporaries, the walk stops at named nodes: a node
        computed and deleted is not needed again through the values computed from it (and computing
        it again could read a name deleted or updated in place since).
        """
        names = self.names
        nodes = toposort(outputs, args_of=lambda n: () if id(n) in names else n.args) if self.deleted else \
            toposort(outputs)
        return [n for n in nodes if id(n) not in names and n.op != "const"]

    def fresh(self, base: str) -> str:
        base = _ident(base)
        k = self.counts.get(base, 0)
        while True:
            name = f"{base}{k}" if k or base in self.used else base
            k += 1
            if name not in self.used:
                self.counts[base] = k
                self.used.add(name)
                return name

    def bind_input(self, node: Node, name: str) -> str:
        name = _ident(name)
        self.used.add(name)
        self.names[id(node)] = name
        return name

    def name_of(self, node: Node) -> str:
        if id(node) in self.names:
            return self.names[id(node)]
        if node.op != "const":
            raise KeyError(f"node {node} has not been emitted")
        lit = literal(node.value) if node.weak else None
        if lit is not None:
            lit = self.literal_source(lit)
            return lit if not lit.startswith("-") else f"({lit})"
        return self.bind_constant(node)

    def literal_source(self, lit: str) -> str:
        """Return the source of a Python-scalar literal as this backend prints it."""
        return lit

    def bind_constant(self, node: Node) -> str:
        """Return the name an array constant is bound to (the writer decides literal or stored)."""
        name = self.fresh("_c")
        self.writer.constant(name, node.value)
        self.names[id(node)] = name
        return name

    def emit(self, outputs: list[Node], forced: dict | None = None, hints: dict | None = None,
             order: list[Node] | None = None) -> list[str]:
        """Return statements computing outputs (nodes already named are reused).

        ``forced`` maps node ids to the exact name their value must end up in;
        ``hints`` maps node ids to a preferred base name; ``order``, the caller's
        toposort of outputs less the named nodes and constants (saves a second sort).
        """
        forced, hints = forced or {}, hints or {}
        if order is None:
            order = self.to_emit(outputs)
        users: dict[int, int] = {}  # uses not yet emitted (outputs count twice more: never dying)
        viewed: set[int] = set()  # nodes some user may return a view of (never updated in place)
        for n in order:
            view = not _owns(n)
            for a in n.args:
                users[id(a)] = users.get(id(a), 0) + 1
                if view:
                    viewed.add(id(a))
        for o in outputs:
            users[id(o)] = users.get(id(o), 0) + 2
        fresh_ids = {id(n) for n in order}
        lines = []
        for node in order:
            if node.op == "input":
                raise KeyError(f"input {node} is not bound to an argument")
            prim = PRIMS[node.op]
            argnames = [self.name_of(a) for a in node.args]
            reuse = self._reusable(node, fresh_ids, users, viewed, argnames)
            if reuse is not None:
                self.names[id(node)] = reuse[0]
                lines.append(reuse[1])
                alias = forced.get(id(node)) or (self.fresh(hints[id(node)]) if id(node) in hints else None)
                if alias is not None:  # updated in place; bind the required (or user's) name too
                    lines.append(f"{alias} = {reuse[0]}")
                    self.names[id(node)] = alias
                self._release(node, fresh_ids, users, lines)
                continue
            out = forced.get(id(node)) or self.fresh(hints.get(id(node)) or short_name(node.op))
            self.names[id(node)] = out
            if node.op in BLOCKS:  # a rolled loop's for-loop statements (emit/loops.py)
                lines.extend(BLOCKS[node.op](self, argnames, node, out))
                self._release(node, fresh_ids, users, lines)
                continue
            code = self.code(prim, argnames, node)
            if isinstance(code, list):
                base = node.args[0]
                if (code[0].endswith(".copy()") and id(base) in fresh_ids and users.get(id(base), 0) == 1
                        and id(base) not in viewed
                        and base.op not in ("broadcast_to", "gather", "transpose", "reshape", "loop_final")):
                    # the function owns the base array: update it in place under its own name
                    code, out = code[1:], argnames[0]
                    self.names[id(node)] = out
                lines.extend(c.format(out=out) for c in code)
            else:
                lines.append(f"{out} = {code}")
            self._release(node, fresh_ids, users, lines)
        return self.writer.statements(lines)

    def code(self, prim, argnames, node):
        """Return the expression (or statements using ``{out}``) computing node from its arguments."""
        tmpl = prim.emit
        if callable(tmpl):
            return tmpl(argnames, node)
        return tmpl.format(*argnames, **dict(node.params))

    def _release(self, node, fresh_ids, users, lines):
        """Count node's uses of its arguments; ``del`` large temporaries at their last use (lower peak memory)."""
        mine = self.names.get(id(node))
        for a in node.args:
            users[id(a)] -= 1
        for a in dict.fromkeys(node.args):
            if (users[id(a)] == 0 and id(a) in fresh_ids and a.size >= DEL_MIN and a.op not in ("const", "input")
                    and (_owns(a) or any(b.op not in ("const", "input") for b in a.args))):  # not a view of an input
                name = self.names.get(id(a))
                if name is not None and name != mine:
                    lines.append(f"del {name}")
                    del self.names[id(a)]
                    self.deleted = True

    def _reusable(self, node, fresh_ids, users, viewed, argnames):
        """Return (name, statement) updating a dying owned argument in place, or None."""
        if node.ndim == 0:
            return None
        prim = PRIMS[node.op]

        def dying(i):  # this is the last use of the argument and nothing else holds a view of it
            a = node.args[i]
            return (id(a) in fresh_ids and users.get(id(a), 0) == 1 and id(a) not in viewed
                    and a.shape == node.shape and a.dtype == node.dtype and owns_result(a))
        op = prim.augmented
        if op is not None:
            if dying(0):
                return argnames[0], f"{argnames[0]} {op} {argnames[1]}"
            if prim.commutative and dying(1):
                return argnames[1], f"{argnames[1]} {op} {argnames[0]}"
        if node.size < INPLACE_UNARY_MIN or not prim.elementwise:
            return None
        if len(node.args) == 1 and isinstance(prim.emit, str) and prim.emit.startswith("np.") and dying(0):
            return argnames[0], prim.emit.format(argnames[0])[:-1] + f", out={argnames[0]})"
        uf = prim.impl
        if (len(node.args) == 2 and isinstance(uf, np.ufunc) and uf.nout == 1
                and getattr(np, uf.__name__, None) is uf):  # a large result written into a dying argument
            for i in (1, 0):
                if dying(i):
                    return argnames[i], f"np.{uf.__name__}({argnames[0]}, {argnames[1]}, out={argnames[i]})"
        return None

    def output_expr(self, node: Node, copy: bool = False) -> str:
        """Return the source for a returned value: a fresh array (``copy``: it may alias), or a NumPy scalar if 0-d."""
        name = self.name_of(node)
        if node.op == "const" and node.weak:  # a Python number the function returned (an aux value): as is
            return name
        if node.ndim == 0 and node.dtype.kind in "biufc":  # one type for 0-d results: a NumPy scalar of its dtype
            return f"{name}[()]"
        if copy or (node.op == "broadcast_to" and name in self.names.values()):
            return f"{name}.copy()"
        if node.op == "const" and isinstance(node.value, np.ndarray) and node.ndim:
            return f"{name}.copy()"
        return name


def _roots(node: Node) -> list:
    """Return the nodes whose memory node's value may share: itself if its expression owns its result."""
    out, stack, seen = [], [node], set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if n.op in ("input", "const") or n.ndim == 0 or _owns(n) or not n.args:
            out.append(n)
        else:  # maybe a view of an argument (a reshape, a transpose, a slice...)
            stack.extend(n.args)
    return out


def output_copies(leaves: list, fresh: set | None = None) -> list[bool]:
    """Return, per returned leaf, whether it must be copied so that no result aliases another value.

    A result is copied when it may share memory with an argument, a stored constant or an earlier
    result (the same array returned twice); with ``fresh`` (ids of the nodes a nested function
    computes itself), also when it may share memory with a value computed outside that function.
    """
    taken: set = set()
    flags = []
    for leaf in leaves:
        if not isinstance(leaf, Node) or leaf.ndim == 0:
            flags.append(False)
            continue
        roots = _roots(leaf)
        ids = {id(r) for r in roots}
        alias = bool(ids & taken) or any(r.op in ("input", "const") for r in roots) or (
            fresh is not None and any(id(r) not in fresh for r in roots))
        if not alias:
            taken |= ids
        flags.append(alias)
    return flags


def _tree_source(structure, exprs: list[str]) -> str:
    it = iter(exprs)

    def rec(s):
        kind = s[0]
        if kind == "leaf":
            return next(it)
        if kind == "none":
            return "None"
        if kind in ("namedtuple", "node"):
            what = "a namedtuple" if kind == "namedtuple" else f"a {s[1].__name__} (a registered pytree node)"
            raise TypeError(f"a generated function of array arguments cannot return {what}; return a tuple or dict "
                            "(operators called with pytree arguments rebuild them)")
        if kind in ("tuple", "list"):
            inner = ", ".join(rec(e) for e in s[1])
            if kind == "tuple":
                return f"({inner},)" if len(s[1]) == 1 else f"({inner})"
            return f"[{inner}]"
        return "{" + ", ".join(f"{k!r}: {rec(e)}" for k, e in zip(s[1], s[2])) + "}"

    return rec(structure)


class ArrayBackend:
    """Array-at-a-time emission (the default)."""

    def __init__(self, writer: ModuleWriter):
        self.em = Emitter(writer)

    def param(self, node, name):
        p = self.em.bind_input(node, name)
        return p, self.em.writer.arg_checks(p, node.shape)

    def emit(self, nodes):
        return self.em.emit(nodes)

    def output_expr(self, node, copy=False):
        return self.em.output_expr(node, copy)

    def fresh(self, name):
        return self.em.fresh(name)


def function_lines(be, name, arg_names, inputs, leaves, structure, closures, doc, fallback=None, checks=()):
    """Return (lines of ``def name(...)`` built with backend ``be``, its parameter names).

    ``fallback(params, leaf_position)`` gives an expression for the same operator
    from the array version, used when a scalar operator hits a math error.
    """
    params, body = [], []
    for n, a in zip(inputs, arg_names):
        p, lines = be.param(n, a)
        params.append(p)
        body += lines
    if hasattr(be, "prologue"):  # e.g. the array-API backend's namespace lookup
        body = be.prologue(params) + body
    outer_nodes = [l for i, l in enumerate(leaves) if i not in closures]
    for _, _, inodes, itree in closures.values():
        # what the closure needs that does not depend on its own inputs is computed up front
        ileaves, _ = tree_flatten(itree)
        dep = depends_on(ileaves, inodes)
        pre = [a for n in toposort(ileaves) if id(n) in dep for a in n.args if id(a) not in dep
               and a.op not in ("const",)]
        outer_nodes += pre + [l for l in ileaves if id(l) not in dep]
    # guards first (in order; never returned): a call on another path fails after computing only what the
    # decisions need, not the whole body
    outer_nodes = list(reversed(checks)) + outer_nodes
    body += be.emit(outer_nodes)
    exprs = []
    copies = output_copies([None if i in closures else l for i, l in enumerate(leaves)])
    for i, leaf in enumerate(leaves):
        if i in closures:
            _, inames, inodes, itree = closures[i]
            fname = be.fresh(f"{name.lstrip('_')}_op")
            ip, inner_pre = [], []
            for n, a in zip(inodes, inames):
                p, lines = be.param(n, a)
                ip.append(p)
                inner_pre += lines
            ileaves, istruct = tree_flatten(itree)
            inner = [f"def {fname}({', '.join(ip)}):"] + ["    " + l for l in inner_pre]
            icopies = output_copies(ileaves, depends_on(ileaves, inodes))
            code = be.emit(ileaves) + ["return " + _tree_source(istruct, [be.output_expr(n, c) for n, c in
                                                                          zip(ileaves, icopies)])]
            alt = fallback(params, i, structure) if fallback else None
            if alt is not None:
                code = ["try:"] + ["    " + l for l in code] + [
                    "except (ArithmeticError, ValueError):  # math domain/overflow: NumPy semantics",
                    f"    return {alt}({', '.join(ip)})"]
            inner += ["    " + l for l in code]
            body += inner
            exprs.append(fname)
        else:
            exprs.append(be.output_expr(leaf, copies[i]))
    body.append("return " + _tree_source(structure, exprs))
    head = [f"def {name}({', '.join(params)}):"] + ([f'    """{doc}"""'] if doc else [])
    return head + ["    " + l for l in body], params


def module_source(writer: ModuleWriter, lines: list[str]) -> str:
    """Return the writer's printed constants followed by lines, as one source text."""
    header = writer.header
    return "\n".join(header + ([""] if header else []) + lines) + "\n"
