"""Numba backend: maximal chains of elementwise primitives become one compiled loop.

``emit_function`` has the contract of ``codegen.emit_function``: the
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

from ..ir.graph import Node
from ..ir.pytree import tree_flatten
from ..primitives import PRIMS
from ..primitives.helpers import dtype_name
from ..primitives.registry import short_name
from .array import ArrayBackend, function_lines, module_source
from .writer import ModuleWriter, literal

PARALLEL_MIN = 1 << 18  # elements from which a kernel runs its outer loop with numba.prange ...
PARALLEL_THREADS = 4  # ... when numba has at least this many threads (on 2 cores prange measured slower)
FUSE_MIN_OPS = 2  # operations a kernel must fuse (a single NumPy call needs no compiled loop)
MISSING = ("the numba backend needs the optional dependency numba; install it with "
           "pip install 'npdiff[numba]' (or pip install numba)")
FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_REDUCE = {"reduce_sum": ("{acc} += {v}", "0.0"), "reduce_prod": ("{acc} *= {v}", "1.0"),
           "reduce_max": ("{acc} = {v} if {v} > {acc} or {v} != {v} else {acc}", "-np.inf"),
           "reduce_min": ("{acc} = {v} if {v} < {acc} or {v} != {v} else {acc}", "np.inf")}
# element templates numba compiles with NumPy's results (tests/test_numba_backend.py checks every one)
OVERRIDE = {"where": "({1} if {0} else {2})", "sign": "np.sign({0})", "floor": "np.floor({0})",
            "ceil": "np.ceil({0})", "trunc": "np.trunc({0})", "logical_and": "({0} and {1})",
            "logical_or": "({0} or {1})", "logical_not": "(not {0})", "stop_gradient": "{0}"}
# elementwise primitives never fused (they stay NumPy calls between kernels): integer-like or
# complex-part operations whose scalar versions in a kernel are not NumPy's at every input
REFUSED = frozenset({"floor_divide", "remainder", "fmod", "round", "real", "imag", "conj", "heaviside", "rint",
                     "logical_xor", "cbrt"})


def require_numba():
    """Return the numba module, or raise ImportError naming the extra to install."""
    try:
        import numba
    except ImportError:
        raise ImportError(MISSING) from None
    return numba


def _threads() -> int:
    return require_numba().config.NUMBA_NUM_THREADS


def element_template(prim) -> str | None:
    """Return the element expression template of an elementwise primitive in a kernel, or None (never fused).

    The primitive's ``scalar`` template (the scalar backend's), else an operator or single
    ``np.`` call ``emit`` template, unless ``OVERRIDE`` names it; None for a name in ``REFUSED``
    and for SciPy functions (numba does not compile scipy.special).
    """
    if not prim.elementwise or prim.name in REFUSED:
        return None
    if "scipy." in str(prim.emit) or "scipy." in str(prim.scalar):
        return None
    if prim.name in OVERRIDE:
        return OVERRIDE[prim.name]
    if isinstance(prim.scalar, str) and "float(" not in prim.scalar and "bool(" not in prim.scalar:
        return prim.scalar
    if (isinstance(prim.emit, str) and "np." not in prim.emit) or (
            isinstance(prim.emit, str) and prim.emit.startswith("np.") and prim.emit.count("np.") == 1):
        return prim.emit
    return None


def template(node: Node) -> str | None:
    """Return the element expression template of node in a kernel, or None if it cannot be fused."""
    prim = PRIMS.get(node.op)
    if prim is None or not prim.elementwise or node.ndim == 0 or node.size == 0:
        return None
    if node.dtype not in FLOATS and node.dtype != np.bool_:
        return None
    for a in node.args:
        if not (a.dtype in FLOATS or a.dtype == np.bool_ or (a.weak and isinstance(a.value, (int, float)))):
            return None
    if node.op == "convert":
        return None if node.dtype not in FLOATS else f"np.{dtype_name(node.dtype)}({{0}})"
    return element_template(prim)


class Group:
    """One kernel: elementwise members of one shape and the full reductions of some of them."""

    def __init__(self, k: int, shape: tuple):
        self.k, self.shape = k, shape
        self.members: list[Node] = []
        self.reductions: list[Node] = []
        self.scatters: list[list[Node]] = []  # chains scatter_add(v) -> index_add(., w)...: one zeros-based output
        self.inplace: set[int] = set()  # chains starting with index_add onto an array that dies there
        self.needs: set[int] = set()  # groups this one's external inputs depend on


def slice_start(node: Node, v: Node) -> int | None:
    """Return where v lands in node (a 1-d scatter_add/index_add of v along one step-1 slice), or None."""
    index = node.p["index"]
    if node.ndim != 1 or v.ndim != 1 or node.dtype != v.dtype or len(index) != 1 or index[0][0] != "s":
        return None
    _, start, stop, step = index[0]
    if step != 1 or start < 0 or stop - start != v.shape[0]:
        return None
    return start


class Planner:
    """The state of ``plan``: groups merged union-find style, and per node the groups its value needs."""

    def __init__(self, order: list[Node], wanted: set | None, fusable=None):
        self.fusable = fusable or (lambda n: template(n) is not None)  # may this elementwise node join a group
        self.groups: list[Group] = []
        self.parent: list[int] = []
        self.gid: dict[int, int] = {}  # id(node) -> its group (before merges: find() it)
        self.dep: dict[int, frozenset] = {}  # id(node) -> the groups its value needs
        self.wanted = wanted or ()
        self.users: dict[int, int] = {}
        for n in order:
            for a in n.args:
                self.users[id(a)] = self.users.get(id(a), 0) + 1
        self.chain_end: dict[int, list] = {}  # id(last node of a scatter chain) -> the chain

    # -- the group structure ------------------------------------------------------------------
    def find(self, k: int) -> int:
        parent = self.parent
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    def reach(self, ks) -> set:
        """Return the groups reachable from ks through ``needs``."""
        seen, stack = set(), [self.find(k) for k in ks]
        while stack:
            k = stack.pop()
            if k not in seen:
                seen.add(k)
                stack.extend(self.find(j) for j in self.groups[k].needs)
        return seen

    def group_of(self, a: Node) -> int | None:
        return self.find(self.gid[id(a)]) if id(a) in self.gid else None

    def member_of(self, v: Node) -> int | None:
        kv = self.group_of(v)
        return kv if kv is not None and any(m is v for m in self.groups[kv].members) else None

    def can_join(self, k: int, node: Node) -> bool:
        """A reduction or scatter of group k is known only after its kernel: an external input."""
        return all(self.member_of(b) == k or k not in self.reach(self.dep.get(id(b), ())) for b in node.args)

    def mergeable(self, k: int, h: int) -> bool:
        return k not in self.reach(self.groups[h].needs) and h not in self.reach(self.groups[k].needs)

    def merge(self, k: int, h: int) -> None:
        self.parent[h] = k
        g, other = self.groups[k], self.groups[h]
        g.members += other.members
        g.reductions += other.reductions
        g.scatters += other.scatters
        g.needs |= other.needs

    def new_group(self, shape: tuple) -> int:
        k = len(self.groups)
        self.groups.append(Group(k, shape))
        self.parent.append(k)
        return k

    def dies_here(self, y: Node) -> bool:
        """Return True if y ends a scatter chain and this node is its only, unreturned, user."""
        return id(y) in self.chain_end and self.users.get(id(y)) == 1 and id(y) not in self.wanted

    # -- one visit per kind of node: the group the node joins, or None ---------------------------
    def scatter_add(self, n: Node) -> int | None:
        v = n.args[0]
        kv = self.member_of(v)
        if kv is None or self.groups[kv].shape != v.shape or slice_start(n, v) is None:
            return None
        chain = [n]
        self.groups[kv].scatters.append(chain)
        self.chain_end[id(n)] = chain
        return kv

    def index_add(self, n: Node) -> int | None:
        y, v = n.args
        kv, ky = self.member_of(v), self.group_of(y)
        if kv is None or self.groups[kv].shape != v.shape or slice_start(n, v) is None:
            return None
        if self.dies_here(y) and (ky == kv or (self.groups[ky].shape == self.groups[kv].shape
                                               and self.mergeable(ky, kv))):
            if ky != kv:
                self.merge(ky, kv)
            chain = self.chain_end.pop(id(y))  # the chain goes on into y's output
            chain.append(n)
            self.chain_end[id(n)] = chain
            return ky
        if kv in self.reach(self.dep.get(id(y), ())):
            return None
        chain = [n]  # a new chain on y (a copy, unless y dies here)
        if self.dies_here(y):
            self.groups[kv].inplace.add(id(n))
        self.groups[kv].scatters.append(chain)
        self.chain_end[id(n)] = chain
        return kv

    def elementwise(self, n: Node) -> int:
        cands = []
        for a in n.args:
            ka = self.group_of(a)
            if (ka is not None and self.groups[ka].shape == n.shape and ka not in cands
                    and not any(r is a for r in self.groups[ka].reductions) and self.can_join(ka, n)):
                cands.append(ka)
        if not cands:
            k = self.new_group(n.shape)
        else:
            k = cands[0]
            for h in cands[1:]:
                if self.mergeable(k, h):
                    self.merge(k, h)
        self.groups[k].members.append(n)
        return k

    def reduction(self, n: Node) -> int | None:
        ka = self.group_of(n.args[0])
        if ka is None or n.args[0].dtype != n.dtype or any(r is n.args[0] for r in self.groups[ka].reductions):
            return None
        self.groups[ka].reductions.append(n)
        return ka

    def visit(self, n: Node) -> int | None:
        """Return the group node n joins (None: it stays a NumPy statement)."""
        if n.op == "scatter_add" and len(n.args) == 1 and n.dtype in FLOATS:
            return self.scatter_add(n)
        if n.op == "index_add" and len(n.args) == 2 and n.dtype in FLOATS:
            return self.index_add(n)
        if n.op not in ("scatter_add", "index_add") and self.fusable(n):
            return self.elementwise(n)
        if n.op in _REDUCE and n.ndim == 0 and n.dtype in FLOATS:
            return self.reduction(n)
        return None

    def record(self, n: Node, k: int | None) -> None:
        """Record node n's group k and which groups its value needs."""
        deps = set()
        for a in n.args:
            deps |= self.dep.get(id(a), frozenset())
        if k is not None:
            self.gid[id(n)] = k
            for a in n.args:
                if self.group_of(a) != k:
                    self.groups[k].needs |= self.dep.get(id(a), frozenset())
            deps.add(k)
        self.dep[id(n)] = frozenset(deps)

    def result(self, order: list[Node]) -> dict[int, Group]:
        """Return {id(node): Group} for the groups of at least FUSE_MIN_OPS operations."""
        pos = {id(n): i for i, n in enumerate(order)}
        for g in self.groups:
            g.members.sort(key=lambda m: pos[id(m)])
        out = {}
        for i, k in self.gid.items():
            g = self.groups[self.find(k)]
            if len(g.members) + len(g.reductions) + sum(map(len, g.scatters)) >= FUSE_MIN_OPS:
                out[i] = g
        return out


def plan(order: list[Node], wanted: set | None = None, fusable=None) -> dict[int, Group]:
    """Return {id(node): Group} for the nodes to fuse (groups of at least two operations).

    Nodes are visited in order; an elementwise node joins (and merges) the
    groups of its fused arguments of the same shape unless one of its other
    arguments depends on that group (which would make the kernel need its own
    output: a cycle). The planner's ``dep`` holds, per node, the groups its value needs.
    ``fusable(node) -> bool`` says which elementwise nodes may join a group (default: those
    with a numba element template; the blocked NumPy emission passes its own).
    """
    planner = Planner(order, wanted, fusable)
    for n in order:
        planner.record(n, planner.visit(n))
    return planner.result(order)


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


def emit_units(em, nodes: list[Node], order: list[Node], gid: dict[int, Group], kernel) -> list[str]:
    """Return statements computing nodes: each Group by ``kernel(group, outside)``, the rest by ``em``.

    ``order`` is the toposorted nodes still to emit and ``gid`` the plan over them;
    ``outside`` holds the ids of the group members some other statement reads (or
    that are wanted), which a kernel must store. Without groups (or on a cycle) the
    whole is plain NumPy statements.
    """
    units = schedule(order, gid) if gid else None
    if units is None:
        return em.emit(nodes)
    wanted = {id(n) for n in nodes}
    where: dict[int, int] = {}  # id(node) -> its segment (a kernel, or a run of NumPy statements)
    seg = 0
    for i, u in enumerate(units):
        if not isinstance(u, Node) or i == 0 or not isinstance(units[i - 1], Node):
            seg += 1
        for n in ([u] if isinstance(u, Node) else u.members + u.reductions + [c for chain in u.scatters for c in chain]):
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
            lines.extend(kernel(u, outside))
    flush()
    return em.writer.statements(lines)


class NumbaBackend(ArrayBackend):
    """Array emission in which fusable groups become calls of compiled kernels."""

    def __init__(self, writer: ModuleWriter, prefix: str):
        super().__init__(writer)
        self.prefix = prefix
        self.kernels: list[str] = []  # module-level kernel definitions

    def emit(self, nodes):
        em = self.em
        order = [n for n in em.to_emit(nodes) if n.op != "input"]
        return emit_units(em, nodes, order, plan(order, {id(n) for n in nodes}), self._kernel)

    def _kernel(self, g: Group, outside: set) -> list[str]:
        """Return the statements calling group g's kernel (whose definition goes to self.kernels)."""
        k = _Kernel(self.em, g, self.em.fresh(f"_{self.prefix}_k{len(self.kernels)}"))
        k.members(outside)
        k.reductions()
        k.scatters()
        self.kernels.append("\n".join(k.definition()))
        return k.call()


class _Kernel:
    """The source of one group's kernel: its parameters, loop body, stores and the call."""

    def __init__(self, em, g: Group, name: str):
        self.em, self.g, self.name = em, g, name
        self.mine = {id(n) for n in g.members}
        self.f32 = all(n.dtype != np.float64 for n in g.members)
        self.nd = len(g.shape)
        self.idx = [f"i{d}" for d in range(self.nd)]
        self.params: list[str] = []  # kernel parameters of external inputs ...
        self.call_args: list[str] = []  # ... and what the call passes them
        self.ext: dict[int, str] = {}  # id(external input) -> its parameter
        self.local: dict[int, str] = {}  # id(member) -> its register
        self.body: list[str] = []
        self.init: list[str] = []  # accumulators' start values
        self.stores: list[str] = []  # output arrays, written by the kernel
        self.pre: list[str] = []  # statements allocating them, before the call
        self.accs: list[tuple] = []  # (name, reduction node) of the kernel's returned values

    def arg_expr(self, a: Node) -> str:
        """Return the element expression of argument a inside the loop."""
        if id(a) in self.mine:
            return self.local[id(a)]
        if a.op == "const" and a.weak:
            return self._literal(a.value)
        if id(a) not in self.ext:
            p = f"a{len(self.params)}"
            self.params.append(p)
            src = self.em.name_of(a)
            self.call_args.append(src if a.ndim else f"np.asarray({src})[()]")
            self.ext[id(a)] = p
        p = self.ext[id(a)]
        if a.ndim == 0:
            return p
        off = self.nd - a.ndim
        sub = ["0" if a.shape[d] == 1 and self.g.shape[off + d] != 1 else self.idx[off + d] for d in range(a.ndim)]
        return f"{p}[{', '.join(sub)}]"

    def _literal(self, v) -> str:
        if isinstance(v, int):  # bool or int
            return repr(v) if v >= 0 else f"({v!r})"
        lit = literal(float(v))
        lit = {"np.inf": "np.inf", "-np.inf": "(-np.inf)", "np.nan": "np.nan"}.get(lit, lit)
        ftype = "float32" if self.f32 else "float64"
        return f"np.{ftype}({lit})" if self.f32 else (lit if not lit.startswith("-") else f"({lit})")

    def members(self, outside: set) -> None:
        """Compute each member in a register; store those read outside the kernel."""
        em = self.em
        for k, n in enumerate(self.g.members):
            v = f"v{k}"
            code = template(n).format(*[self.arg_expr(a) for a in n.args], **dict(n.params))
            self.body.append(f"{v} = {code}")
            self.local[id(n)] = v
            if id(n) not in outside:  # lives in a register: no later statement may read it
                em.names[id(n)] = f"<register {v} of {self.name}>"
            else:
                o = em.fresh(short_name(n.op))
                em.names[id(n)] = o
                self.stores.append(o)
                self.body.append(f"o{len(self.stores) - 1}[{', '.join(self.idx)}] = {v}")
                self.pre.append(f"{o} = np.empty({tuple(self.g.shape)}, dtype=np.{dtype_name(n.dtype)})")

    def reductions(self) -> None:
        """Accumulate each full reduction; the kernel returns the accumulators."""
        for k, r in enumerate(self.g.reductions):
            upd, start = _REDUCE[r.op]
            acc = f"acc{k}"
            self.init.append(f"{acc} = {start}")
            self.body.append(upd.format(acc=acc, v=self.local[id(r.args[0])]))
            s = self.em.fresh(short_name(r.op))
            self.em.names[id(r)] = s
            self.accs.append((s, r))

    def scatters(self) -> None:
        """Add each scatter chain's values into its output (zeros, or a copy of the array added to)."""
        em = self.em
        for chain in self.g.scatters:
            last = chain[-1]
            o = em.fresh(short_name(last.op))
            for c in chain[:-1]:
                em.names[id(c)] = f"<register part of {o} in {self.name}>"
            em.names[id(last)] = o
            self.stores.append(o)
            if chain[0].op == "scatter_add":
                self.pre.append(f"{o} = np.zeros({tuple(last.shape)}, dtype=np.{dtype_name(last.dtype)})")
            else:  # index_add onto a value computed before the kernel
                copy = "" if id(chain[0]) in self.g.inplace else ".copy()"
                self.pre.append(f"{o} = {em.name_of(chain[0].args[0])}{copy}")
            for c in chain:  # additions only: the order of the writes does not matter
                v = c.args[-1]
                self.body.append(f"o{len(self.stores) - 1}[i0 + {slice_start(c, v)}] += {self.local[id(v)]}")

    def definition(self) -> list[str]:
        """Return the lines of the kernel's definition."""
        g, nd = self.g, self.nd
        size = int(np.prod(g.shape))
        serial = g.scatters or any(r.op in ("reduce_max", "reduce_min") for r in g.reductions)  # no race-free prange
        parallel = size >= PARALLEL_MIN and _threads() >= PARALLEL_THREADS and not serial
        sig = self.params + [f"o{i}" for i in range(len(self.stores))]
        loops = []
        for d in range(nd):
            rng = "numba.prange" if d == 0 and parallel else "range"
            loops.append("    " * (d + 1) + f"for {self.idx[d]} in {rng}({g.shape[d]}):")
        inner = "    " * (nd + 1)
        kdef = [f"@numba.njit(cache=True, fastmath=False, error_model='numpy'{', parallel=True' if parallel else ''})",
                f"def {self.name}({', '.join(sig)}):"] + ["    " + i for i in self.init] + loops + [
                    inner + b for b in self.body]
        if self.accs:
            n = len(self.accs)
            kdef.append("    return " + ", ".join(f"acc{k}" for k in range(n)) + ("," if n == 1 else ""))
        return kdef

    def call(self) -> list[str]:
        """Return the statements allocating the outputs and calling the kernel."""
        call = f"{self.name}({', '.join(self.call_args + self.stores)})"
        out = list(self.pre)
        if self.accs:
            out.append(f"{', '.join(s for s, _ in self.accs)}, = {call}")
            out += [f"{s} = np.{dtype_name(r.dtype)}({s})" for s, r in self.accs]
        else:
            out.append(call)
        return out


def require() -> None:
    """Raise ImportError naming the extra to install if numba is missing."""
    require_numba()


def emit_function(name: str, arg_names: list[str], inputs: list[Node], out_tree, *,
                  closures: list | None = None, doc: str | None = None, scalar: bool | None = None,
                  checks: list | None = None):
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
