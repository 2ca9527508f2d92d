"""A small recurrent network predicting the next value of noisy sine waves, trained with RMSProp.

An autograd program: only its import lines differ (npdiff's compat module in place of autograd).
"""
import npdiff.compat.autograd.numpy.random as npr

import npdiff.compat.autograd.numpy as np
from npdiff.compat.autograd import grad
from npdiff.compat.autograd.misc.optimizers import rmsprop


def init_params(hidden, scale, rs):
    """Return a dict of the recurrence's and the read-out's weights."""
    return {"init_hiddens": scale * rs.randn(1, hidden),
            "change": scale * rs.randn(1 + hidden + 1, hidden),
            "predict": scale * rs.randn(hidden + 1, 1)}


def rnn_predict(params, inputs):
    """Return the one-step predictions for inputs of shape (time, sequences)."""
    num_sequences = inputs.shape[1]
    hiddens = np.repeat(params["init_hiddens"], num_sequences, axis=0)
    outputs = []
    for x in inputs:
        joined = np.concatenate((x[:, None], hiddens, np.ones((num_sequences, 1))), axis=1)
        hiddens = np.tanh(np.dot(joined, params["change"]))
        with_bias = np.concatenate((hiddens, np.ones((num_sequences, 1))), axis=1)
        outputs.append(np.dot(with_bias, params["predict"])[:, 0])
    return np.array(outputs)


def make_data(steps, sequences, rs):
    """Return sine waves of random phase and frequency with noise, shape (steps, sequences)."""
    t = np.arange(steps)[:, None]
    return np.sin(0.3 * (1 + rs.rand(sequences)) * t + 6.0 * rs.rand(sequences)) + 0.05 * rs.randn(steps, sequences)


def problem(seed=0, steps=20, sequences=8, hidden=12):
    """Return (objective, initial parameters): the mean squared error of next-value predictions."""
    rs = npr.RandomState(seed)
    data = make_data(steps + 1, sequences, rs)
    inputs, targets = data[:-1], data[1:]
    return (lambda params: np.mean((rnn_predict(params, inputs) - targets) ** 2)), init_params(hidden, 0.3, rs)


def main(num_iters=100):
    objective, params = problem()
    params = rmsprop(grad(lambda p, i: objective(p)), params, step_size=0.02, num_iters=num_iters,
                     callback=lambda p, i, g: i % 25 or print(f"iteration {i:3d}  mse {objective(p):.5f}"))
    print(f"final mse {objective(params):.5f}")


if __name__ == "__main__":
    main()
