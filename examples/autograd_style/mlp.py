"""A two-layer tanh network classifying synthetic 2-d points into 3 classes, trained with Adam.

An autograd program: only its import lines differ (npdiff's compat module in place of autograd).
"""
import npdiff.compat.autograd.numpy.random as npr
from npdiff.compat.autograd.scipy.special import logsumexp

import npdiff.compat.autograd.numpy as np
from npdiff.compat.autograd import grad
from npdiff.compat.autograd.misc.optimizers import adam
import itertools


def init_params(sizes, scale, rs):
    """Return a list of (weights, biases) per layer."""
    return [(scale * rs.randn(m, n), scale * rs.randn(n)) for m, n in itertools.pairwise(sizes)]


def predict(params, inputs):
    """Return the log class probabilities of each input row."""
    for W, b in params[:-1]:
        inputs = np.tanh(np.dot(inputs, W) + b)
    W, b = params[-1]
    logits = np.dot(inputs, W) + b
    return logits - logsumexp(logits, axis=1, keepdims=True)


def make_data(n, rs):
    """Return (inputs, one-hot targets): three noisy clusters."""
    centres = np.array([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])
    labels = rs.randint(0, 3, n)
    inputs = centres[labels] + 0.8 * rs.randn(n, 2)
    return inputs, np.eye(3)[labels]


def problem(seed=0, n=200, hidden=32):
    """Return (objective, initial parameters): the mean negative log-likelihood plus an L2 penalty."""
    rs = npr.RandomState(seed)
    inputs, targets = make_data(n, rs)
    params = init_params([2, hidden, 3], 0.3, rs)

    def objective(params):
        penalty = sum(np.sum(W ** 2) for W, _ in params)
        return -np.sum(predict(params, inputs) * targets) / n + 1e-3 * penalty
    return objective, params


def main(num_iters=100):
    objective, params = problem()
    objective_grad = grad(lambda p, i: objective(p))
    params = adam(objective_grad, params, step_size=0.05, num_iters=num_iters,
                  callback=lambda p, i, g: i % 25 or print(f"iteration {i:3d}  loss {objective(p):.4f}"))
    print(f"final loss {objective(params):.4f}")


if __name__ == "__main__":
    main()
