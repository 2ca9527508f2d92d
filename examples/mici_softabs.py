"""Riemannian-manifold HMC with Mici's SoftAbs metric, derivatives from npdiff.

``SoftAbsRiemannianMetricSystem`` uses a position-dependent metric built from the
eigen-decomposition of the Hessian of ``neg_log_dens``; simulating its dynamics
needs the Hessian and the matrix-Tressian product (third derivatives) of
``neg_log_dens``, i.e. npdiff's ``hessian_grad_and_value`` and
``mtp_hessian_grad_and_value``. The target is the banana of
``mici_hmc_banana.py`` (exact moments known), whose Hessian is indefinite in
places: exactly the case the SoftAbs regularisation is for.

Here ``backend="npdiff"`` supplies the Hessian and MTP; Mici 0.4.1's
``RiemannianMetricSystem`` does not forward ``backend`` when it sets up the
gradient, so ``grad_neg_log_dens`` is passed directly (as with Mici's own
backends). Passing ``hess_neg_log_dens=npdiff.mici.hessian_grad_and_value(f)``
and ``mtp_neg_log_dens=npdiff.mici.mtp_hessian_grad_and_value(f)`` directly
works too (``main(use_backend=False)``).

Run: ``python examples/mici_softabs.py``  (needs ``pip install mici``).
"""
from __future__ import annotations

import time

import numpy as np
from mici_hmc_banana import QUANTITIES, effective_sample_size, neg_log_dens  # same folder

import npdiff


def make_system(softabs_coeff: float = 1.0, use_backend: bool = True):
    """SoftAbs Riemannian system with every derivative from npdiff."""
    import mici

    if use_backend:
        npdiff.mici.register()
        return mici.systems.SoftAbsRiemannianMetricSystem(
            neg_log_dens, grad_neg_log_dens=npdiff.mici.grad_and_value(neg_log_dens),
            softabs_coeff=softabs_coeff, backend="npdiff")
    return mici.systems.SoftAbsRiemannianMetricSystem(
        neg_log_dens,
        grad_neg_log_dens=npdiff.mici.grad_and_value(neg_log_dens),
        hess_neg_log_dens=npdiff.mici.hessian_grad_and_value(neg_log_dens),
        mtp_neg_log_dens=npdiff.mici.mtp_hessian_grad_and_value(neg_log_dens),
        softabs_coeff=softabs_coeff)


def main(n_iter: int = 100, n_warm_up: int = 30, n_chain: int = 2, seed: int = 20240611,
         use_backend: bool = True, verbose: bool = True) -> dict:
    """Run SoftAbs RMHMC (implicit leapfrog, dynamic multinomial HMC).

    Returns a dict with ``samples`` (n_chain, n_iter, 2), ``accept``,
    ``convergence_error_rate``, ``hamiltonian`` (traced values) and ``moments``
    (name -> dict(estimate, exact, ess, mcse, z)).
    """
    if verbose:
        print(f"sampling the banana with Mici SoftAbs RMHMC ({n_chain} chains x {n_iter} iterations); "
              "npdiff generates the Hessian and its matrix-tressian product ...", flush=True)
    import mici

    system = make_system(use_backend=use_backend)
    integrator = mici.integrators.ImplicitLeapfrogIntegrator(system)
    rng = np.random.default_rng(seed)
    sampler = mici.samplers.DynamicMultinomialHMC(system, integrator, rng)
    init_states = [rng.standard_normal(2) for _ in range(n_chain)]
    t0 = time.perf_counter()
    _, traces, stats = sampler.sample_chains(
        n_warm_up_iter=n_warm_up, n_main_iter=n_iter, init_states=init_states,
        display_progress=False)
    elapsed = time.perf_counter() - t0
    samples = np.stack(traces["pos"])
    moments = {}
    for name, (fn, exact) in QUANTITIES.items():
        x = fn(samples.reshape(-1, 2)).reshape(n_chain, -1)
        ess = effective_sample_size(x)
        mcse = x.std(ddof=1) / np.sqrt(ess)
        moments[name] = {"estimate": float(x.mean()), "exact": exact, "ess": ess, "mcse": mcse,
                         "z": (x.mean() - exact) / mcse}
    out = {
        "samples": samples, "hamiltonian": np.concatenate(traces["hamiltonian"]),
        "accept": float(np.mean(np.concatenate(stats["accept_stat"]))),
        "convergence_error_rate": float(np.mean(np.concatenate(stats["convergence_error"]))),
        "step_size": float(stats["step_size"][0][-1]) if "step_size" in stats else None,
        "moments": moments, "time": elapsed,
    }
    if verbose:
        print(f"Mici SoftAbs RMHMC on the banana, {n_chain} chains x {n_iter} iterations "
              f"(+{n_warm_up} warm-up), npdiff Hessian/MTP: {elapsed:.1f} s")
        print(f"  mean accept stat {out['accept']:.3f}, fixed-point convergence errors "
              f"{out['convergence_error_rate']:.1%}")
        print(f"  {'quantity':<9} {'estimate':>9} {'exact':>7} {'ESS':>7} {'MCSE':>7} {'z':>6}")
        for name, m in moments.items():
            print(f"  {name:<9} {m['estimate']:9.4f} {m['exact']:7.3f} {m['ess']:7.0f} "
                  f"{m['mcse']:7.4f} {m['z']:6.2f}")
    return out


if __name__ == "__main__":
    main()
