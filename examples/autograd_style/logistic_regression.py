"""Logistic regression on synthetic data, fitted by gradient descent.

An autograd program: only its import lines differ (npdiff's compat module in place of autograd).
"""
import npdiff.compat.autograd.numpy.random as npr

import npdiff.compat.autograd.numpy as np
from npdiff.compat.autograd import grad


def sigmoid(x):
    return 0.5 * (np.tanh(x / 2.0) + 1.0)


def problem(seed=0, n=500, d=10):
    """Return (objective, initial weights): the negative log-likelihood of labels from a linear model."""
    rs = npr.RandomState(seed)
    inputs = rs.randn(n, d)
    true_weights = rs.randn(d)
    targets = rs.rand(n) < sigmoid(np.dot(inputs, true_weights))

    def objective(weights):
        preds = sigmoid(np.dot(inputs, weights))
        probs = preds * targets + (1 - preds) * (1 - targets)
        return -np.sum(np.log(probs))
    return objective, np.zeros(d)


def main(num_iters=100):
    objective, weights = problem()
    training_gradient = grad(objective)
    for i in range(num_iters):
        weights = weights - 0.002 * training_gradient(weights)
        if i % 25 == 0:
            print(f"iteration {i:3d}  negative log-likelihood {objective(weights):.4f}")
    print(f"final negative log-likelihood {objective(weights):.4f}")


if __name__ == "__main__":
    main()
