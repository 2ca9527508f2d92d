"""Export derivative code with npdiff.export and use it from a script that
cannot import npdiff (run in a subprocess whose sys.path does not contain it).
"""
import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np

import npdiff


def energy(x):
    """A chain of springs with anharmonic terms."""
    d = x[1:] - x[:-1] - 1.0
    return np.sum(d ** 2 + 0.1 * d ** 4)


SCRIPT = textwrap.dedent("""
    import sys
    sys.modules["npdiff"] = None     # any "import npdiff" now fails, even where it is installed
    import numpy as np
    import springs                                   # the exported module
    x = np.linspace(0.0, 5.5, 6)
    print(float(springs.energy(x)), springs.grad_energy(x).tolist(), springs.hessian_energy(x).shape)
""")


def main():
    shape = (6,)
    functions = {
        "energy": npdiff.numpify(energy, shape),
        "grad_energy": npdiff.grad(energy).specialize(shape),
        "hessian_energy": npdiff.hessian(energy).specialize(shape),
    }
    with tempfile.TemporaryDirectory() as folder:
        npdiff.export(functions, os.path.join(folder, "springs.py"))
        with open(os.path.join(folder, "use_springs.py"), "w") as fh:
            fh.write(SCRIPT)
        # -E ignores PYTHONPATH: the script's folder (with the exported module) and the
        # interpreter's own site-packages (NumPy) are on sys.path, npdiff is not
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        proc = subprocess.run([sys.executable, "-E", "use_springs.py"], cwd=folder, env=env,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"the exported module failed in a subprocess:\n{proc.stderr}")
    print("exported module, run without npdiff:", proc.stdout.strip())
    x = np.linspace(0.0, 5.5, 6)
    assert abs(float(proc.stdout.split(" ", 1)[0]) - energy(x)) < 1e-12
    return proc.stdout


if __name__ == "__main__":
    main()
