"""Numba backend: maximal chains of elementwise primitives become one compiled loop.

``emit_numba_function`` has the contract of ``codegen.emit_function``: the
generated function is plain Python source. Every maximal group of elementwise
nodes of one shape (plus full reductions ``sum/prod/max/min`` of them) becomes
a module-level ``@numba.njit(cache=True)`` kernel with explicit loops whose
body is each primitive's element expression (its ``scalar`` template, the one
the scalar backend uses, or an operator ``emit`` template); everything else
(contractions, linalg, indexing, shapes) stays NumPy calls between kernels.
Only values used outside a group are written to arrays; the rest live in
registers. No fastmath and NumPy's error model, so NaN/inf match NumPy.
"""
from __future__ import annotations

import heapq

import numpy as np

from .array import ArrayBackend, function_lines, module_source
from ..ir.graph import Node, toposort
from ..primitives import PRIMS
from ..primitives.helpers import dtype_name
from ..primitives.registry import short_name
from ..ir.pytree import tree_flatten
from .writer import ModuleWriter, literal

PARALLEL_MIN = 1 << 18  # elements from which a kernel runs its outer loop with numba.prange ...
PARALLEL_THREADS = 4  # ... when numba has at least this many threads (on 2 cores prange measured slower)
FUSE_MIN_OPS = 2  # operations a kernel must fuse (a single NumPy call needs no compiled loop)
MISSING = ("the numba backend needs the optional dependency numba; install it with "
           "pip install 'npdiff[numba]' (or pip install numba)")
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_REDUCE = {"reduce_sum": ("{acc} += {v}", "0.0"), "reduce_prod": ("{acc} *= {v}", "1.0"),
           "reduce_max": ("{acc} = {v} if {v} > {acc} or {v} != {v} else {acc}", "-np.inf"),
           "reduce_min": ("{acc} = {v} if {v} < {acc} or {v} != {v} else {acc}", "np.inf")}
# element templates numba compiles with NumPy's results (tests/test_numba_backend.py checks every one)
_OVERRIDE = {"where": "({1} if {0} else {2})", "sign": "np.sign({0})", "floor": "np.floor({0})",
             "ceil": "np.ceil({0})", "trunc": "np.trunc({0})", "logical_and": "({0} and {1})",
             "logical_or": "({0} or {1})", "logical_not": "(not {0})", "stop_gradient": "{0}"}
_REFUSE = {"floor_divide", "remainder", "fmod", "round", "real", "imag", "conj", "heaviside", "rint",
           "logical_xor", "cbrt"}


def require_numba():
    """Return the numba module, or raise ImportError naming the extra to install."""
    try:
        import numba
    except ImportError:
        raise ImportError(MISSING) from None
    return numba


def _threads() -> int:
    return require_numba().config.NUMBA_NUM_THREADS


def template(node: Node) -> str | None:
    """Return the element expression template of node in a kernel, or None if it cannot be fused."""
    prim = PRIMS.get(node.op)
    if prim is None or not prim.elementwise or node.op in _REFUSE or node.ndim == 0 or node.size == 0:
        return None
    if node.dtype not in _FLOATS and node.dtype != np.bool_:
        return None
    for a in node.args:
        if not (a.dtype in _FLOATS or a.dtype == np.bool_ or (a.weak and isinstance(a.value, (int, float)))):
            return None
    if "scipy." in str(prim.emit) or "scipy." in str(prim.scalar):  # numba does not compile scipy.special
        return None
    if node.op == "convert":
        return None if node.dtype not in _FLOATS else f"np.{dtype_name(node.dtype)}({{0}})"
    if node.op in _OVERRIDE:
        return _OVERRIDE[node.op]
    if isinstance(prim.scalar, str) and "float(" not in prim.scalar and "bool(" not in prim.scalar:
        return prim.scalar
    if isinstance(prim.emit, str) and "np." not in prim.emit or (
            isinstance(prim.emit, str) and prim.emit.startswith("np.") and prim.emit.count("np.") == 1):
        return prim.emit
    return None


class Group:
    """One kernel: elementwise members of one shape and the full reductions of some of them."""

    def __init__(self, k: int, shape: tuple):
        self.k, self.shape = k, shape
        self.members: list[Node] = []
        self.reductions: list[Node] = []
        self.scatters: list[list[Node]] = []  # chains scatter_add(v) -> index_add(., w)...: one zeros-based output
        self.inplace: set[int] = set()  # chains starting with index_add onto an array that dies there
        self.needs: set[int] = set()  # groups this one's external inputs depend on


def _slice_start(node: Node, v: Node) -> int | None:
    """Return where v lands in node (a 1-d scatter_add/index_add of v along one step-1 slice), or None."""
    index = node.p["index"]
    if node.ndim != 1 or v.ndim != 1 or node.dtype != v.dtype or len(index) != 1 or index[0][0] != "s":
        return None
    _, start, stop, step = index[0]
    if step != 1 or start < 0 or stop - start != v.shape[0]:
        return None
    return start


def plan(order: list[Node], wanted: set | None = None) -> dict[int, Group]:
    """Return {id(node): Group} for the nodes to fuse (groups of at least two operations).

    Nodes are visited in order; an elementwise node joins (and merges) the
    groups of its fused arguments of the same shape unless one of its other
    arguments depends on that group (which would make the kernel need its own
    output: a cycle). ``dep`` holds, per node, the groups its value needs.
    """
    groups: list[Group] = []
    parent: list[int] = []
    gid: dict[int, int] = {}
    dep: dict[int, frozenset] = {}

    def find(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    def reach(ks) -> set:
        seen, stack = set(), [find(k) for k in ks]
        while stack:
            k = stack.pop()
            if k not in seen:
                seen.add(k)
                stack.extend(find(j) for j in groups[k].needs)
        return seen

    def group_of(a):
        return find(gid[id(a)]) if id(a) in gid else None

    def member_of(v):
        kv = group_of(v)
        return kv if kv is not None and any(m is v for m in groups[kv].members) else None

    def can_join(k, node):  # a reduction or scatter of group k is known only after its kernel: external
        return all(member_of(b) == k or k not in reach(dep.get(id(b), ())) for b in node.args)

    def mergeable(k, h):
        return k not in reach(groups[h].needs) and h not in reach(groups[k].needs)

    def merge(k, h):
        parent[h] = k
        groups[k].members += groups[h].members
        groups[k].reductions += groups[h].reductions
        groups[k].scatters += groups[h].scatters
        groups[k].needs |= groups[h].needs

    users: dict[int, int] = {}
    for n in order:
        for a in n.args:
            users[id(a)] = users.get(id(a), 0) + 1
    chain_end: dict[int, list] = {}  # id(last node of a scatter chain) -> the chain

    for n in order:
        k = None
        if n.op == "scatter_add" and len(n.args) == 1 and n.dtype in _FLOATS:
            kv = member_of(n.args[0])
            if kv is not None and groups[kv].shape == n.args[0].shape and _slice_start(n, n.args[0]) is not None:
                k = kv
                chain = [n]
                groups[k].scatters.append(chain)
                chain_end[id(n)] = chain
        elif n.op == "index_add" and len(n.args) == 2 and n.dtype in _FLOATS:
            y, v = n.args
            kv, ky = member_of(v), group_of(y)
            if kv is not None and groups[kv].shape == v.shape and _slice_start(n, v) is not None:
                if (id(y) in chain_end and users.get(id(y)) == 1 and id(y) not in (wanted or ())
                        and (ky == kv or (groups[ky].shape == groups[kv].shape and mergeable(ky, kv)))):
                    if ky != kv:
                        merge(ky, kv)
                    k = ky
                    chain = chain_end.pop(id(y))
                    chain.append(n)
                    chain_end[id(n)] = chain
                elif kv not in reach(dep.get(id(y), ())):  # a new chain on y (a copy, unless y dies here)
                    k = kv
                    chain = [n]
                    if id(y) in chain_end and users.get(id(y)) == 1 and id(y) not in (wanted or ()):
                        groups[k].inplace.add(id(n))
                    groups[k].scatters.append(chain)
                    chain_end[id(n)] = chain
        elif template(n) is not None:
            cands = []
            for a in n.args:
                ka = group_of(a)
                if (ka is not None and groups[ka].shape == n.shape and ka not in cands
                        and not any(r is a for r in groups[ka].reductions) and can_join(ka, n)):
                    cands.append(ka)
            if cands:
                k = cands[0]
                for h in cands[1:]:
                    if mergeable(k, h):
                        merge(k, h)
            else:
                k = len(groups)
                groups.append(Group(k, n.shape))
                parent.append(k)
            groups[k].members.append(n)
        elif n.op in _REDUCE and n.ndim == 0 and n.dtype in _FLOATS:
            ka = group_of(n.args[0])
            if ka is not None and n.args[0].dtype == n.dtype and not any(r is n.args[0] for r in groups[ka].reductions):
                k = ka
                groups[k].reductions.append(n)
        deps = set()
        for a in n.args:
            deps |= dep.get(id(a), frozenset())
        if k is not None:
            gid[id(n)] = k
            for a in n.args:
                if group_of(a) != k:
                    groups[k].needs |= dep.get(id(a), frozenset())
            deps.add(k)
        dep[id(n)] = frozenset(deps)
    pos = {id(n): i for i, n in enumerate(order)}
    for g in groups:
        g.members.sort(key=lambda m: pos[id(m)])
    out = {}
    for i, k in gid.items():
        g = groups[find(k)]
        if len(g.members) + len(g.reductions) + sum(map(len, g.scatters)) >= FUSE_MIN_OPS:
            out[i] = g
    return out


def schedule(order: list[Node], gid: dict[int, Group]) -> list | None:
    """Return the units (nodes and Groups) in an order where each follows what it reads, or None on a cycle."""
    unit = {id(n): (gid[id(n)] if id(n) in gid else n) for n in order}
    first: dict[int, int] = {}
    for i, n in enumerate(order):
        first.setdefault(id(unit[id(n)]), i)
    preds: dict[int, set] = {u: set() for u in first}
    for n in order:
        u = id(unit[id(n)])
        for a in n.args:
            if id(a) in unit and id(unit[id(a)]) != u:
                preds[u].add(id(unit[id(a)]))
    succ: dict[int, list] = {u: [] for u in first}
    for u, ps in preds.items():
        for p in ps:
            succ[p].append(u)
    count = {u: len(ps) for u, ps in preds.items()}
    objs = {id(unit[id(n)]): unit[id(n)] for n in order}
    ready = [(first[u], u) for u, c in count.items() if c == 0]
    heapq.heapify(ready)
    out = []
    while ready:
        _, u = heapq.heappop(ready)
        out.append(objs[u])
        for s in succ[u]:
            count[s] -= 1
            if count[s] == 0:
                heapq.heappush(ready, (first[s], s))
    return out if len(out) == len(first) else None


class NumbaBackend(ArrayBackend):
    """Array emission in which fusable groups become calls of compiled kernels."""

    def __init__(self, writer: ModuleWriter, prefix: str):
        super().__init__(writer)
        self.prefix = prefix
        self.kernels: list[str] = []  # module-level kernel definitions

    def emit(self, nodes):
        em = self.em
        order = [n for n in toposort(nodes) if id(n) not in em.names and n.op not in ("const", "input")]
        gid = plan(order, {id(n) for n in nodes})
        units = schedule(order, gid) if gid else None
        if units is None:
            return em.emit(nodes)
        wanted = {id(n) for n in nodes}
        where: dict[int, int] = {}  # id(node) -> its segment (a kernel, or a run of NumPy statements)
        seg = 0
        for i, u in enumerate(units):
            if not isinstance(u, Node) or i == 0 or not isinstance(units[i - 1], Node):
                seg += 1
            for n in ([u] if isinstance(u, Node) else u.members + u.reductions + sum(u.scatters, [])):
                where[id(n)] = seg
        outside: set[int] = set(wanted)  # nodes read by another unit
        for n in order:
            for a in n.args:
                if id(a) in where and where[id(a)] != where[id(n)]:
                    outside.add(id(a))
        lines, run = [], []

        def flush():
            if run:
                lines.extend(em.emit([n for n in run if id(n) in outside] or run[-1:]))
                run.clear()
        for u in units:
            if isinstance(u, Node):
                run.append(u)
            else:
                flush()
                lines.extend(self._kernel(u, outside))
        flush()
        return em.writer.statements(lines)

    def _kernel(self, g: Group, outside: set) -> list[str]:
        """Return the statements calling group g's kernel (whose definition goes to self.kernels)."""
        em = self.em
        name = em.fresh(f"_{self.prefix}_k{len(self.kernels)}")
        mine = {id(n) for n in g.members}
        f32 = all(n.dtype != np.float64 for n in g.members)
        ftype = "float32" if f32 else "float64"
        nd = len(g.shape)
        idx = [f"i{d}" for d in range(nd)]
        params, call_args, body, local = [], [], [], {}
        ext: dict[int, str] = {}

        def arg_expr(a: Node) -> str:
            if id(a) in mine:
                return local[id(a)]
            if a.op == "const" and a.weak:
                v = a.value
                if isinstance(v, int):  # bool or int
                    return repr(v) if v >= 0 else f"({v!r})"
                lit = literal(float(v))
                lit = {"np.inf": "np.inf", "-np.inf": "(-np.inf)", "np.nan": "np.nan"}.get(lit, lit)
                return f"np.{ftype}({lit})" if f32 else (lit if not lit.startswith("-") else f"({lit})")
            if id(a) not in ext:
                p = f"a{len(params)}"
                params.append(p)
                src = em.name_of(a)
                call_args.append(src if a.ndim else f"np.asarray({src})[()]")
                ext[id(a)] = p
            p = ext[id(a)]
            if a.ndim == 0:
                return p
            off = nd - a.ndim
            sub = ["0" if a.shape[d] == 1 and g.shape[off + d] != 1 else idx[off + d] for d in range(a.ndim)]
            return f"{p}[{', '.join(sub)}]"

        stores, pre = [], []
        for k, n in enumerate(g.members):
            v = f"v{k}"
            code = template(n).format(*[arg_expr(a) for a in n.args], **dict(n.params))
            body.append(f"{v} = {code}")
            local[id(n)] = v
            if id(n) not in outside:  # lives in a register: no later statement may read it
                em.names[id(n)] = f"<register {v} of {name}>"
            else:
                o = em.fresh(short_name(n.op))
                em.names[id(n)] = o
                stores.append(o)
                body.append(f"o{len(stores) - 1}[{', '.join(idx)}] = {v}")
                pre.append(f"{o} = np.empty({tuple(g.shape)}, dtype=np.{dtype_name(n.dtype)})")
        accs = []
        init = []
        for k, r in enumerate(g.reductions):
            upd, start = _REDUCE[r.op]
            acc = f"acc{k}"
            init.append(f"{acc} = {start}")
            body.append(upd.format(acc=acc, v=local[id(r.args[0])]))
            s = em.fresh(short_name(r.op))
            em.names[id(r)] = s
            accs.append((s, r))
        for chain in g.scatters:
            last = chain[-1]
            o = em.fresh(short_name(last.op))
            for c in chain[:-1]:
                em.names[id(c)] = f"<register part of {o} in {name}>"
            em.names[id(last)] = o
            stores.append(o)
            if chain[0].op == "scatter_add":
                pre.append(f"{o} = np.zeros({tuple(last.shape)}, dtype=np.{dtype_name(last.dtype)})")
            else:  # index_add onto a value computed before the kernel
                copy = "" if id(chain[0]) in g.inplace else ".copy()"
                pre.append(f"{o} = {em.name_of(chain[0].args[0])}{copy}")
            for c in chain:  # additions only: the order of the writes does not matter
                v = c.args[-1]
                body.append(f"o{len(stores) - 1}[i0 + {_slice_start(c, v)}] += {local[id(v)]}")
        size = int(np.prod(g.shape))
        serial = g.scatters or any(r.op in ("reduce_max", "reduce_min") for r in g.reductions)  # no race-free prange
        parallel = size >= PARALLEL_MIN and _threads() >= PARALLEL_THREADS and not serial
        sig = params + [f"o{i}" for i in range(len(stores))]
        loops = []
        for d in range(nd):
            rng = "numba.prange" if d == 0 and parallel else "range"
            loops.append("    " * (d + 1) + f"for {idx[d]} in {rng}({g.shape[d]}):")
        inner = "    " * (nd + 1)
        kdef = [f"@numba.njit(cache=True, fastmath=False, error_model='numpy'{', parallel=True' if parallel else ''})",
                f"def {name}({', '.join(sig)}):"] + ["    " + i for i in init] + loops + [inner + b for b in body]
        if accs:
            kdef.append("    return " + ", ".join(f"acc{k}" for k in range(len(accs))) + ("," if len(accs) == 1 else ""))
        self.kernels.append("\n".join(kdef))
        call = f"{name}({', '.join(call_args + stores)})"
        out = list(pre)
        if accs:
            out.append(f"{', '.join(s for s, _ in accs)}, = {call}")
            out += [f"{s} = np.{dtype_name(r.dtype)}({s})" for s, r in accs]
        else:
            out.append(call)
        return out


def emit_numba_function(name: str, arg_names: list[str], inputs: list[Node], out_tree, *,
                        closures: list | None = None, doc: str | None = None, checks: list | None = None):
    """Return (source, writer) of ``def name(args)`` with fused Numba kernels (``codegen.emit_function``'s contract)."""
    require_numba()
    leaves, structure = tree_flatten(out_tree)
    closures = {c[0]: c for c in (closures or [])}
    writer = ModuleWriter()
    be = NumbaBackend(writer, name.lstrip("_"))
    lines, _ = function_lines(be, name, arg_names, inputs, leaves, structure, closures, doc, checks=checks or ())
    if be.kernels:
        writer.use("numba")
        lines = "\n\n".join(be.kernels).split("\n") + ["", ""] + lines
    return module_source(writer, lines), writer
