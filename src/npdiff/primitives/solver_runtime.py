"""The run-time half of ``solver_call`` / ``solver_lin``: NumPy and the SciPy function passed in, no npdiff.

A *runner* ``RUNNERS[name](original, graphs, static, arrays)`` returns a solver node's packed result
(``primitives/solvers.py``) from its argument values: it calls ``original`` (SciPy's function) on
callables evaluated from ``graphs`` (objects with ``concrete(index, theta)`` and ``__call__``:
``Traced`` while npdiff runs, ``Graphs`` over generated graph functions elsewhere), with the
user's options ``static`` (plain data: numbers, strings, arrays, tuples, dicts, ``Bounds``).
The specs of ``lower/`` run these same functions in the process that traced them; ``export``
prints this module's body into exported modules and a pickled GeneratedFunction carries the
recipes, so generated code with solver calls runs where npdiff never traced it (even without npdiff).
Nothing here may import npdiff, nor name a module other than ``np``.
"""
import numpy as np


def unflatten(struct, leaves: list):
    """Return the leaves arranged as ``struct`` (npdiff's pytree structure: leaf, tuple, list)."""
    it = iter(leaves)

    def build(s):
        if s[0] == "leaf":
            return next(it)
        items = [build(c) for c in s[1]]
        return tuple(items) if s[0] == "tuple" else items
    return build(struct)


class Graphs:
    """The callables of one generated graph function ``fn(*vars, *params) -> list of outputs``."""

    def __init__(self, fn, structs):
        self.fn, self.structs = fn, structs

    def __call__(self, *values) -> list:
        """Return all outputs for these input values."""
        return list(self.fn(*values))

    def concrete(self, index: int, theta: list):
        """Return callable ``index`` as a function of the variables, its parameters bound to theta."""
        start, n, struct = self.structs[index]
        fn = self.fn

        def call(*vs):
            return unflatten(struct, list(fn(*vs, *theta))[start:start + n])
        return call


def fill(opts: dict, extras: list, values) -> dict:
    """Return the options with the traced extras ``(name, kind)`` set to their run-time values."""
    kw = dict(opts)
    for (name, kind), v in zip(extras, values):
        v = np.asarray(v)
        kw[name] = (tuple(v.tolist()) if kind == "tuple" else v.tolist() if kind == "list"
                    else float(v) if v.ndim == 0 else v)
    return kw


def _pack(x, info) -> np.ndarray:
    return np.concatenate([np.asarray(x, dtype=np.float64).ravel(), np.asarray(info, dtype=np.float64)])


def _split(static: dict, arrays) -> tuple:
    m = static["m"]
    return list(arrays[:m]), list(arrays[m:]), fill(static["opts"], static.get("extras", ()), arrays[m:])


# -- roots and minima (packed [x.ravel(), info]) ------------------------------------------------

def bracketed(original, graphs, static, arrays):
    """brentq, brenth, ridder, bisect, toms748."""
    theta, _, call = _split(static, arrays)
    fn = graphs[0].concrete(0, theta)
    a, b = call.pop("a"), call.pop("b")
    x, res = original(lambda z: float(fn(z)), a, b, full_output=True, **call)
    return _pack(x, [res.converged, res.iterations, res.function_calls])


def newton(original, graphs, static, arrays):
    """newton, scalar or array x0, with fprime / fprime2 traced."""
    theta, _, call = _split(static, arrays)
    fns = {name: graphs[0].concrete(i, theta) for i, name in enumerate(["func", *static["derivs"]])}
    if static["scalar"]:
        fns = {k: (lambda z, _g=g: float(_g(z))) for k, g in fns.items()}
        x, res = original(**call, **fns, full_output=True)
        return _pack(x, [res.converged, res.iterations, res.function_calls])
    x, conv, zder = original(**call, **fns, full_output=True)[:3]
    return _pack(x, list(np.ravel(conv)) + list(np.ravel(zder)))


def root_scalar(original, graphs, static, arrays):
    """root_scalar (f may return (f, f'[, f'']) with fprime=True)."""
    theta, _, call = _split(static, arrays)
    fns = {name: graphs[0].concrete(i, theta) for i, name in enumerate(["f", *static["derivs"]])}
    f0 = fns["f"]
    fns["f"] = (lambda z: tuple(float(v) for v in f0(z))) if static["tuple_f"] else (lambda z: float(f0(z)))
    for name in static["derivs"]:
        fns[name] = lambda z, _g=fns[name]: float(_g(z))
    res = original(**call, **fns)
    return _pack(res.root, [res.converged, res.iterations, res.function_calls])


def root(original, graphs, static, arrays):
    """root (jac= traced when callable)."""
    theta, _, call = _split(static, arrays)
    if static["jac"]:
        call["jac"] = graphs[0].concrete(1, theta)
    res = original(graphs[0].concrete(0, theta), **call)
    return _pack(res.x, [res.success, res.status, res.get("nfev", -1)])


def fsolve(original, graphs, static, arrays):
    """fsolve (fprime= traced when callable)."""
    theta, _, call = _split(static, arrays)
    if static["jac"]:
        call["fprime"] = graphs[0].concrete(1, theta)
    x, info, ier, _ = original(graphs[0].concrete(0, theta), **call, full_output=True)
    return _pack(x, [ier, info["nfev"]])


def fixed_point(original, graphs, static, arrays):
    """scipy.optimize.fixed_point (the graph is g(x) - x)."""
    theta, _, call = _split(static, arrays)
    resid = graphs[0].concrete(0, theta)
    return _pack(original(lambda z: resid(z) + z, **call), [])


def minimize(original, graphs, static, arrays):
    """minimize (jac=True pairs; jac= and hess= traced when callable)."""
    theta, _, call = _split(static, arrays)
    f0 = graphs[0].concrete(0, theta)
    if static["pair"]:
        def f(z):
            v, g = f0(z)
            return float(v), np.asarray(g, float)
    else:
        def f(z):
            return float(f0(z))
    fns = {name: graphs[0].concrete(i + 1, theta) for i, name in enumerate(static["given"])}
    res = original(f, **call, **fns)
    return _pack(res.x, [res.success, res.status, res.get("nfev", -1), res.get("nit", -1)])


def least_squares(original, graphs, static, arrays):
    """least_squares (jac= traced when callable)."""
    theta, _, call = _split(static, arrays)
    if static["jac"]:
        call["jac"] = graphs[0].concrete(1, theta)
    res = original(graphs[0].concrete(0, theta), **call)
    return _pack(res.x, [res.success, res.status, res.nfev])


def iterate(g, x, tol: float, maxiter: int) -> np.ndarray:
    """Return x = g(x) iterated until a step is at most tol * (1 + |x|) (max norm); RuntimeError if not."""
    x = np.asarray(x, dtype=np.float64)
    step = np.inf
    for _ in range(maxiter):
        new = np.asarray(g(x), dtype=np.float64)
        step = float(np.max(np.abs(new - x), initial=0.0))
        if step <= tol * (1.0 + float(np.max(np.abs(new), initial=0.0))):
            return new
        x = new
    raise RuntimeError(f"npdiff.fixed_point: no convergence in {maxiter} iterations (last step {step:.3g}); "
                       f"raise maxiter= or tol=")


def npdiff_fixed_point(original, graphs, static, arrays):
    """npdiff.fixed_point: x = g(x, params) by iteration (the graph is g(x) - x)."""
    theta, extras, _ = _split(static, arrays)
    step = graphs[0].concrete(0, theta)
    x = np.asarray(extras[0] if extras else static["x0"], dtype=np.float64)
    return _pack(iterate(lambda v: v + step(v), x, static["tol"], static["maxiter"]), [])


# -- ODEs (packed [Y.ravel(), status, nfev]) and quadrature ------------------------------------

def ode_options(static: dict, arrays) -> dict:
    """Return the ODE solver options with the traced time options (after y0) set to their values."""
    opts = dict(static["opts"])
    for name, v in zip(static["time_key"] or (), arrays[static["m"] + 1:]):
        opts[name] = tuple(np.ravel(v)) if name == "t_span" else np.asarray(v)
    return opts


def ode_solve(original, kind: str, fn, y0, opts: dict):
    """Return (Y (n_t, n), status, nfev) of solve_ivp, odeint or solve_ivp's dense output at the times
    ``t_dense`` (kind) on y' = fn(t, y)."""
    if kind == "odeint":
        return original(fn, y0, tfirst=True, **opts), 0, 0
    if kind == "dense":
        opts = dict(opts)
        t = np.ravel(opts.pop("t_dense"))
        sol = original(fn, y0=y0, dense_output=True, **opts)
        Y = np.asarray(sol.sol(t)).T if sol.sol is not None else np.empty((0, np.size(y0)))
        return Y, sol.status, sol.nfev
    sol = original(fn, y0=y0, **opts)
    return sol.y.T, sol.status, sol.nfev


def ode(original, graphs, static, arrays):
    """solve_ivp / odeint (also the augmented sensitivity systems): NaN rows past a failed step."""
    m, n, n_t = static["m"], static["n"], static["n_t"]
    fn = graphs[0].concrete(0, list(arrays[:m]))
    Y, status, nfev = ode_solve(original, static["kind"], fn, np.asarray(arrays[m], dtype=np.float64),
                                ode_options(static, arrays))
    full = np.full((n_t, n), np.nan)
    full[:min(Y.shape[0], n_t)] = Y[:n_t]  # (no output times: status and nfev only)
    return np.concatenate([full.ravel(), [status, nfev]])


def ode_direction(original, graphs, static, arrays):
    """The s part of y' = f, s' = f_y s + f_theta v (the last argument is v): [(S v).ravel(), 0, 0]."""
    m, n, n_t = static["m"], static["n"], static["n_t"]
    v = np.asarray(arrays[-1], dtype=np.float64)
    fn = graphs[0].concrete(0, [*arrays[:m], v])
    opts = ode_options(static, arrays[:-1])
    if np.ndim(opts.get("atol")) > 0:
        opts["atol"] = np.tile(np.ravel(opts["atol"]), 2)
    y0 = np.concatenate([np.ravel(arrays[m]), v[static["p_theta"]:]])
    Y = ode_solve(original, static["kind"], fn, y0, opts)[0]
    full = np.full((n_t, n), np.nan)
    full[:Y.shape[0]] = Y[:, n:]
    return np.concatenate([full.ravel(), [0.0, 0.0]])


def ode_adjoint(solve_ivp, graphs, static, arrays):
    """[mu(t0), lambda(t0)]: y forward with dense output, then the adjoint ODE backward from the last
    output time, adding each output time's cotangent (the last argument) to lambda."""
    m, n, n_t = static["m"], static["n"], static["n_t"]
    theta = list(arrays[:m])
    opts = ode_options(static, arrays[:-1])
    c = np.asarray(arrays[-1], dtype=np.float64)[:n_t * n].reshape(n_t, n)
    if static["kind"] == "odeint":
        times = np.asarray(opts["t"], dtype=np.float64)
        t0, method = float(times[0]), "LSODA"
        ivp = {"rtol": opts.get("rtol") or 1.49012e-8, "atol": opts.get("atol") or 1.49012e-8}
    else:
        times, t0 = np.asarray(opts["t_eval"], dtype=np.float64), float(opts["t_span"][0])
        method = opts["method"]
        ivp = {k: v for k, v in opts.items() if k not in ("t_span", "t_eval", "method")}
    f = graphs[0].concrete(0, theta)
    fwd = solve_ivp(lambda t, y: np.ravel(f(t, y)), (t0, float(times[-1])), np.ravel(arrays[m]),
                    method=method, dense_output=True, **ivp)
    if not fwd.success:
        raise RuntimeError(f"the forward solve of the adjoint method failed: {fwd.message}")
    back = {"rtol": ivp.get("rtol", 1e-3), "atol": float(np.min(ivp.get("atol", 1e-6)))}
    vjp = graphs[1]

    def rhs(t, z):
        return -vjp(t, fwd.sol(t), z[:n], *theta)[0]
    z = np.zeros(n + static["p_theta"])
    for i in range(n_t - 1, -1, -1):
        z[:n] += c[i]
        stop = times[i - 1] if i > 0 else t0
        if stop != times[i]:
            sol = solve_ivp(rhs, (float(times[i]), float(stop)), z, method=method, **back)
            if not sol.success:
                raise RuntimeError(f"the backward solve of the adjoint method failed: {sol.message}")
            z = sol.y[:, -1].copy()
    return np.concatenate([z[n:], z[:n]])


def quad(original, graphs, static, arrays):
    """quad (one call per component of the integrand) and quad_vec: [integral.ravel(), abserr]."""
    m = static["m"]
    fn = graphs[0].concrete(0, list(arrays[:m]))
    a, b = (float(v) for v in arrays[m:m + 2])
    if static["vector"]:
        y, err = original(fn, a, b, **static["opts"])[:2]
        return np.concatenate([np.ravel(y), [err]])
    vals, errs = [], []
    for i in range(static["size"]):
        y, err = original(lambda t, _i=i: float(np.ravel(fn(t))[_i]), a, b, **static["opts"])[:2]
        vals.append(y)
        errs.append(err)
    return np.array([*vals, max(errs)])


RUNNERS = {f.__name__: f for f in (bracketed, newton, root_scalar, root, fsolve, fixed_point, minimize,
                                   least_squares, npdiff_fixed_point, ode, ode_direction, ode_adjoint, quad)}


def runner(name: str, original, graphs: list, static: dict):
    """Return ``run(*arrays)``: runner ``name`` bound to SciPy's function, the graphs and the options."""
    fn = RUNNERS[name]

    def run(*arrays):
        return fn(original, graphs, static, arrays)
    return run
