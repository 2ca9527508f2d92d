"""npdiff quickstart: differentiate an ordinary NumPy function and print the
generated NumPy source and the numbers it computes."""
import numpy as np

import npdiff


def rosenbrock(x):
    """The Rosenbrock function, written with plain NumPy."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def main():
    x = np.array([-1.2, 1.0, 0.8, 1.5])

    grad = npdiff.grad(rosenbrock)
    hess = npdiff.hessian(rosenbrock)
    print("Generated gradient source:\n")
    print(grad.specialize(x.shape).source)
    print("Generated Hessian source:\n")
    print(hess.specialize(x.shape).source)
    print("x        =", x)
    print("f(x)     =", rosenbrock(x))
    print("grad(x)  =", grad(x))
    print("hessian(x) =\n", hess(x))

    # SymNum's README example, in plain NumPy
    def f(x):
        return np.array([[1.0, -0.5], [-2.0, 3.0]]) @ np.array([np.cos(-x[1] ** 2 + 3 * x[0]), np.sin(x[0] - 1)])

    jac = npdiff.jacobian(f)
    print("\nJacobian of SymNum's example at [0.5, 2.0]:\n", jac(np.array([0.5, 2.0])))
    print(jac.specialize((2,)).source)

    npdiff.check_grads(rosenbrock, (x,), order=2)
    print("check_grads: derivatives agree with finite differences")


if __name__ == "__main__":
    main()
