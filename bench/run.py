"""Run every benchmark in this folder, side by side in one process."""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # single-threaded BLAS for every benchmark

import importlib
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))

for name in sorted(p.stem for p in pathlib.Path(__file__).parent.glob("bench_*.py")):
    print(f"==== {name} ====")
    importlib.import_module(name).main()
