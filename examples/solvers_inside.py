"""SciPy's solvers, ODE integrators and quadrature inside a function npdiff differentiates.

The SciPy calls are left unchanged: npdiff runs SciPy at run time and takes the
derivatives by the implicit function theorem (roots, argmins), forward
sensitivities (ODEs) and derivative integrals (quad). Finishes in a few seconds.
"""
import numpy as np
from scipy.integrate import quad, solve_ivp
from scipy.optimize import brentq, minimize

import npdiff


def implied_rate(p):
    """The rate r at which the discounted cash flows p sum to 1 (a root inside a function)."""
    return brentq(lambda r: np.sum(p / (1.0 + r) ** np.arange(1, p.size + 1)) - 1.0, -0.5, 1.0, xtol=1e-14)


def ridge_fit(lam, X, y):
    """The loss of the ridge solution for penalty lam, found by L-BFGS-B (an argmin inside a function)."""
    res = minimize(lambda w: np.sum((X @ w - y) ** 2) + lam * np.sum(w ** 2), np.zeros(X.shape[1]),
                   method="L-BFGS-B", options=dict(gtol=1e-12, ftol=1e-15))
    return np.sum((X @ res.x - y) ** 2)


def decay_fit(k, t_obs, y_obs):
    """The squared misfit of a logistic-decay ODE solved by SciPy's RK45."""
    sol = solve_ivp(lambda t, y: -k[0] * y + k[1] * y * (1 - y), (0.0, t_obs[-1]), np.array([0.9]),
                    t_eval=t_obs, rtol=1e-10, atol=1e-12)
    return np.sum((sol.y[0] - y_obs) ** 2)


def gaussian_mass(s):
    """The mass of exp(-x^2 / (2 s^2)) on [0, s]: the parameter is in the integrand and the limit."""
    return quad(lambda x: np.exp(-x ** 2 / (2 * s ** 2)), 0.0, s, epsabs=1e-13)[0]


def central(f, x, h=1e-6):
    x = np.atleast_1d(np.asarray(x, float))
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)])


def report(what, got, ref):
    print(f"{what:<10} derivative {np.round(np.atleast_1d(got), 8)}  max |npdiff - reference| = "
          f"{np.max(np.abs(np.asarray(got) - ref)):.1e}")


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    p = np.array([0.3, 0.3, 0.6])
    report("brentq", npdiff.grad(implied_rate)(p), central(implied_rate, p))
    X, y = rng.normal(size=(20, 3)), rng.normal(size=20)

    def closed_form(lam):  # the ridge solution in closed form: its finite differences are the reference
        w = np.linalg.solve(X.T @ X + lam * np.eye(3), X.T @ y)
        return np.sum((X @ w - y) ** 2)
    report("minimize", npdiff.grad(ridge_fit, argnums=0)(0.5, X, y), central(closed_form, 0.5, 1e-5)[0])
    t_obs = np.linspace(0.5, 3.0, 6)
    y_obs = 0.9 * np.exp(-0.4 * t_obs)
    k = np.array([0.5, 0.1])
    report("solve_ivp", npdiff.grad(decay_fit, argnums=0)(k, t_obs, y_obs),
           central(lambda v: decay_fit(v, t_obs, y_obs), k, 1e-5))
    report("quad", npdiff.grad(gaussian_mass)(1.3), central(lambda v: gaussian_mass(v[0]), 1.3)[0])
