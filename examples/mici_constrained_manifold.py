"""Constrained HMC with Mici on an implicitly defined torus in R^3, derivatives from npdiff.

The manifold is the zero set of the plain-NumPy constraint

    constr(q) = [(|q|^2 + R^2 - r^2)^2 - 4 R^2 (q0^2 + q1^2)]      (R^3 -> R^1)

and the target is the standard Gaussian on R^3 conditioned on ``constr(q) = 0``
(``dens_wrt_hausdorff=False``), so Mici needs the Jacobian *and* the
matrix-Hessian product of the constraint. They are passed to Mici's
``DenseConstrainedEuclideanMetricSystem`` directly as npdiff's
``jacobian_and_value`` and ``mhp_jacobian_and_value`` bundles (the other way,
``backend="npdiff"`` after ``npdiff.mici.register()``, is shown in
``mici_hmc_banana.py``).

The run checks that every sample lies on the torus (``|constr(q)|`` below
Mici's projection tolerance, 1e-9) and compares two moments with values
computed by quadrature over the torus' angle parameterisation.

Run: ``python examples/mici_constrained_manifold.py``  (needs ``pip install mici``).
"""
from __future__ import annotations

import time

import numpy as np

import npdiff

R, r = 1.0, 0.5  # torus radii: centre-line radius R, tube radius r


def neg_log_dens(q):
    return (q ** 2).sum() / 2


def constr(q):
    s = (q ** 2).sum() + R ** 2 - r ** 2
    return np.array([s ** 2 - 4 * R ** 2 * (q[0] ** 2 + q[1] ** 2)])


def exact_moments(n_grid: int = 400) -> dict:
    """E[q2^2] and E[q0^2 + q1^2] under the target, by quadrature on the torus.

    With ``dens_wrt_hausdorff=False`` the target has density
    ``exp(-neg_log_dens(q)) / |grad constr(q)|`` with respect to surface area; the
    angle grid (trapezoid rule on periodic functions) converges exponentially.
    """
    u, v = np.meshgrid(*(2 * np.pi * np.arange(n_grid) / n_grid,) * 2, indexing="ij")
    q = np.stack([(R + r * np.cos(v)) * np.cos(u), (R + r * np.cos(v)) * np.sin(u), r * np.sin(v)], -1)
    s = (q ** 2).sum(-1) + R ** 2 - r ** 2
    grad = 4 * s[..., None] * q - 8 * R ** 2 * q * np.array([1.0, 1.0, 0.0])
    w = np.exp(-(q ** 2).sum(-1) / 2) / np.linalg.norm(grad, axis=-1) * r * (R + r * np.cos(v))
    w /= w.sum()
    return {"E[q2^2]": float((w * q[..., 2] ** 2).sum()),
            "E[q0^2+q1^2]": float((w * (q[..., 0] ** 2 + q[..., 1] ** 2)).sum())}


def make_system():
    """Mici system whose constraint derivatives come from npdiff."""
    import mici

    return mici.systems.DenseConstrainedEuclideanMetricSystem(
        neg_log_dens, constr, dens_wrt_hausdorff=False,
        grad_neg_log_dens=npdiff.mici.grad_and_value(neg_log_dens),
        jacob_constr=npdiff.mici.jacobian_and_value(constr),
        mhp_constr=npdiff.mici.mhp_jacobian_and_value(constr))


def main(n_iter: int = 100, n_warm_up: int = 40, n_chain: int = 2, seed: int = 20240611,
         verbose: bool = True) -> dict:
    """Sample the torus with Mici's constrained dynamic HMC.

    Returns a dict with ``samples`` (n_chain, n_iter, 3), ``constr`` (the
    constraint at every sample, shape (n_chain * n_iter, 1)), ``max_abs_constr``,
    ``accept``, ``convergence_error_rate`` and ``moments``: name -> dict(estimate, exact,
    ess, mcse, z).
    """
    if verbose:
        print(f"sampling a torus with Mici constrained HMC ({n_chain} chains x {n_iter} iterations); "
              "npdiff generates the constraint Jacobian and its matrix-Hessian product ...", flush=True)
    import mici
    from mici_hmc_banana import effective_sample_size  # same folder

    system = make_system()
    integrator = mici.integrators.ConstrainedLeapfrogIntegrator(system)
    rng = np.random.default_rng(seed)
    sampler = mici.samplers.DynamicMultinomialHMC(system, integrator, rng)
    # start on the torus: outer and inner equator points
    starts = [np.array([R + r, 0.0, 0.0]), np.array([0.0, R - r, 0.0]),
              np.array([-(R + r), 0.0, 0.0]), np.array([0.0, -R, r])]
    init_states = [starts[i % len(starts)] for i in range(n_chain)]
    t0 = time.perf_counter()
    _, traces, stats = sampler.sample_chains(
        n_warm_up_iter=n_warm_up, n_main_iter=n_iter, init_states=init_states,
        trace_funcs=[lambda state: {"pos": state.pos, "constr": system.constr(state)}],
        display_progress=False)
    elapsed = time.perf_counter() - t0
    samples = np.stack(traces["pos"])
    flat = samples.reshape(-1, 3)
    c = np.concatenate(traces["constr"])
    # recompute the constraint independently of Mici's cached values
    c_direct = np.array([constr(q) for q in flat])
    exact = exact_moments()
    values = {"E[q2^2]": samples[..., 2] ** 2, "E[q0^2+q1^2]": samples[..., 0] ** 2 + samples[..., 1] ** 2}
    moments = {}
    for k, x in values.items():
        ess = effective_sample_size(x)
        mcse = x.std(ddof=1) / np.sqrt(ess)
        moments[k] = {"estimate": float(x.mean()), "exact": exact[k], "ess": ess, "mcse": mcse,
                      "z": (x.mean() - exact[k]) / mcse}
    out = {
        "samples": samples, "constr": c_direct,
        "max_abs_constr": float(max(np.abs(c).max(), np.abs(c_direct).max())),
        "accept": float(np.mean(np.concatenate(stats["accept_stat"]))),
        "convergence_error_rate": float(np.mean(np.concatenate(stats["convergence_error"]))),
        "moments": moments, "time": elapsed,
    }
    if verbose:
        print(f"Mici constrained DynamicMultinomialHMC on a torus (R={R}, r={r}), {n_chain} chains x "
              f"{n_iter} iterations (+{n_warm_up} warm-up), npdiff jacobian/mhp: {elapsed:.1f} s")
        print(f"  max |constr(q)| over {len(flat)} samples: {out['max_abs_constr']:.2e}")
        print(f"  mean accept stat {out['accept']:.3f}, "
              f"projection convergence errors {out['convergence_error_rate']:.1%}")
        for k, m in moments.items():
            print(f"  {k:<13} estimate {m['estimate']:.4f}  exact (quadrature) {m['exact']:.4f}  "
                  f"ESS {m['ess']:.0f}  MCSE {m['mcse']:.4f}  z {m['z']:.2f}")
    return out


if __name__ == "__main__":
    main()
