"""Rolled loops: one traced loop body run K times, and its reverse sweep.

``transforms/loops.py`` finds K identical, consecutive copies of a body in a
traced graph (a Python loop unrolled by tracing) and replaces them by

  ``loop_scan(*init, *inv, body=)``: the carries after each step, packed into
      one vector: ``(K + 1) * Sc`` entries (row k holds the carries after k
      steps, row 0 the initial ones), then the ``Se`` entries of the values
      the last step computes for the code after the loop (its *exports*);
  ``loop_final(traj, body=)``: the last ``Sc + Se`` entries (final carries, exports).

Reverse mode follows: the tangent of ``loop_scan`` is ``loop_lin`` (linear in
the initial carries' and the invariants' tangents), whose transpose is
``loop_rev``, a reverse sweep over the stored trajectory with the body's
vector-Jacobian product; ``loop_pad`` is ``loop_final``'s transpose. The
NumPy backend prints them as ``for`` loops (``emit/loops.py``); ``loop_lin`` exists only inside ``vjp_nodes`` (it is
always transposed), and forward mode over a rolled loop is refused (loops are
rolled only where the graph is differentiated in reverse mode, once).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import UnsupportedOperationError
from ..ir.graph import Node
from ..ir.indexsets import DENSE
from .registry import NOT_SCALAR, Primitive, apply, register
from .solvers import Program


@dataclass
class StepAdjoint:
    """The VJP of one step, reading what the forward step stored (``residuals``) instead of recomputing it.

    Its function takes the carries, the invariants, the cotangents of the step's outputs (next carries,
    and the exports on the last step) and ``res_in`` (inputs standing for ``res_fwd``, nodes of the
    forward step the forward sweep returns too); it returns ``outputs``: the cotangents of the carries,
    then of the invariants flagged in ``need``.
    """

    carries: list[Node]
    invariants: list[Node]
    cts: list[Node]
    res_in: list[Node]
    res_fwd: list[Node]
    outputs: list[Node]


@dataclass(eq=False)  # hashed by identity: a node parameter
class LoopBody:
    """One loop body: ``step(carries, invariants) -> next carries (+ exports on the last step)``."""

    steps: int  # K: how many times the body runs
    carry_in: list[Node]  # the body's input nodes standing for the carries
    inv_in: list[Node]  # ... and for the values computed before the loop (invariants)
    carry_out: list[Node]  # the next carries
    exports: list[Node]  # values of the last step read after the loop
    make_adjoint: object = None  # (body, need, last) -> StepAdjoint (built by the transforms layer)
    scanned: int = 0  # the last ``scanned`` invariants are per-step data: step k reads row k of their argument
    _adjoints: dict = field(default_factory=dict)

    @property
    def dtype(self) -> np.dtype:
        return self.carry_out[0].dtype

    @property
    def carry_size(self) -> int:
        return sum(n.size for n in self.carry_out)

    @property
    def export_size(self) -> int:
        return sum(n.size for n in self.exports)

    @property
    def length(self) -> int:
        """Return the length of the packed trajectory."""
        return (self.steps + 1) * self.carry_size + self.export_size

    def adjoint(self, need: tuple, last: bool) -> StepAdjoint:
        """Return the step's VJP (``last``: the last step, whose exports have cotangents too).

        One loop has one reverse sweep: the forward sweep stores what that sweep's VJP reads.
        """
        if self._adjoints.setdefault("need", need) != need:
            raise UnsupportedOperationError("a rolled loop differentiated twice in reverse mode")
        if last not in self._adjoints:
            if self.make_adjoint is None:
                raise UnsupportedOperationError("this rolled loop has no reverse rule")
            self._adjoints[last] = self.make_adjoint(self, need, last)
        return self._adjoints[last]

    @property
    def need(self) -> tuple:
        """Return the flags of the invariants the reverse sweep differentiates (set by its first ``adjoint``)."""
        return self._adjoints["need"]

    def at_step(self, inv: list, k: int) -> list:
        """Return the invariant arguments as step k reads them (row k of the per-step data)."""
        n = len(inv) - self.scanned
        return list(inv[:n]) + [x[k] for x in inv[n:]]

    def residuals(self, last: bool) -> list[Node]:
        """Return the forward nodes the step stores for the reverse sweep (none before it is planned)."""
        adj = self._adjoints.get(last)
        return adj.res_fwd if adj is not None else []

    def run(self, init: list, inv: list) -> np.ndarray:
        """Return the packed trajectory for these initial carries and invariants (NumPy ``impl``s)."""
        step = Program(self.carry_in + self.inv_in, self.carry_out)
        rows = np.empty((self.steps + 1, self.carry_size), self.dtype)
        carries = [np.asarray(c) for c in init]
        rows[0] = np.concatenate([np.ravel(c) for c in carries]) if carries else rows[0]
        for k in range(1, self.steps + 1):
            carries = step.interpret(*carries, *self.at_step(inv, k - 1))
            rows[k] = np.concatenate([np.ravel(c) for c in carries])
        exports = Program(self.carry_in + self.inv_in, self.exports).interpret(
            *[r.reshape(n.shape) for r, n in zip(_split(rows[-2], self.carry_out), self.carry_out)],
            *self.at_step(inv, self.steps - 1))
        return np.concatenate([rows.ravel()] + [np.ravel(e) for e in exports])


def _split(flat: np.ndarray, nodes: list[Node]) -> list[np.ndarray]:
    out, at = [], 0
    for n in nodes:
        out.append(flat[at:at + n.size])
        at += n.size
    return out


def _no_forward(*args, **params):
    raise UnsupportedOperationError(
        "forward mode through a rolled loop: npdiff rolls Python loops only for reverse mode at the top level; "
        "set npdiff.config.roll_loops = False to unroll them")


def _not_printed(names, node):
    raise UnsupportedOperationError(f"{node.op} is printed by the NumPy backend's loop emitter only")


def _scan_rule(*args, body):
    return (body.length,), body.dtype


def _scan_impl(*arrays, body):
    n = len(body.carry_in)
    return body.run(list(arrays[:n]), list(arrays[n:]))


def _scan_jvp(ts, *args, out, nb, body):
    if nb:
        _no_forward()
    n = len(body.carry_in)
    tans = [t if t is not None else apply("broadcast_to", _zero(a.dtype), shape=a.shape) for t, a in zip(ts, args)]
    return apply("loop_lin", out, *args[n:], *tans, body=body)


def _zero(dtype):
    from ..ir.graph import const
    return const(np.zeros((), dtype))


def _final_rule(traj, body):
    return (body.carry_size + body.export_size,), traj.dtype


def _lin_transpose(ct, traj, *rest, lin, nb, body):
    if nb:
        _no_forward()
    nv, nc = len(body.inv_in), len(body.carry_in)
    need = tuple(bool(f) for f in lin[1 + nv + nc:])
    final = ct.op == "loop_pad" and ct.p["body"] is body
    body.adjoint(need, False)  # planned now: the forward sweep, printed first, stores what these read
    if body.exports:
        body.adjoint(need, True)
    rev = apply("loop_rev", traj, *rest[:nv], ct.args[0] if final else ct, body=body, need=need, final=final)
    parts, at = [None] * (1 + nv), 0
    for n, flag in zip(body.carry_in + body.inv_in, (True,) * nc + need):
        if not flag:
            parts.append(None)
            continue
        piece = apply("reshape", apply("gather", rev, index=(("s", at, at + n.size, 1),)), shape=n.shape)
        parts.append(_as(piece, n.dtype))
        at += n.size
    if not any(lin[1 + nv:1 + nv + nc]):
        parts[1 + nv:1 + nv + nc] = [None] * nc
    return parts


def _rev_rule(traj, *rest, body, need, final):
    size = body.carry_size + sum(n.size for n, f in zip(body.inv_in, need) if f)
    return (size,), np.result_type(traj.dtype, *(n.dtype for n, f in zip(body.inv_in, need) if f))


def _as(piece: Node, dtype: np.dtype) -> Node:
    """Return a cotangent read from the packed sweep in its value's dtype (the real part for a real value)."""
    if piece.dtype == dtype:
        return piece
    if piece.dtype.kind == "c" and dtype.kind != "c":
        piece = apply("real", piece)
    return apply("convert", piece, dtype=dtype) if piece.dtype != dtype else piece


def _common(**kw):
    return dict(fold=False, owns=True, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR, **kw)


def _pad_emit(names, node):
    n = node.shape[0]
    return [f"{{out}} = np.zeros({n}, dtype=np.{node.dtype.name})", f"{{out}}[{n - node.args[0].size}:] = {names[0]}"]


def _pad_impl(ct, body):
    return np.concatenate([np.zeros(body.length - ct.size, ct.dtype), ct])


# the printed trajectory holds the initial carries themselves (row 0, read by the reverse sweep): like a
# view, it keeps its arguments from being updated in place by the code after the loop (owns=False)
register(Primitive("loop_scan", _scan_rule, _scan_impl, _not_printed, jvp=_scan_jvp, short="traj",
                   **{**_common(), "owns": False}))
register(Primitive("loop_final", _final_rule, lambda traj, body: traj[-(body.carry_size + body.export_size):],
                   _not_printed, jvp=lambda ts, traj, out, nb, body: apply("loop_final", ts[0], body=body),
                   transpose=lambda ct, traj, lin, nb, body: [apply("loop_pad", ct, body=body)], linear=True,
                   short="last", **{**_common(), "owns": False}))
register(Primitive("loop_pad", lambda ct, body: ((body.length,), ct.dtype), _pad_impl, _pad_emit,
                   jvp=lambda ts, ct, out, nb, body: apply("loop_pad", ts[0], body=body),
                   transpose=lambda ct, x, lin, nb, body: [apply("loop_final", ct, body=body)], linear=True,
                   short="padded", **_common()))
register(Primitive("loop_lin", lambda traj, *rest, body: (traj.shape, traj.dtype), _no_forward, _not_printed,
                   jvp=_no_forward, transpose=_lin_transpose, linear=True, short="dtraj", **_common()))
register(Primitive("loop_rev", _rev_rule, _no_forward, _not_printed, jvp=_no_forward, short="adj", **_common()))
