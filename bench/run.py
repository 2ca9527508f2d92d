"""The benchmark entry point: one markdown table of every speed row, side by side in one run.

    python bench/run.py           # quick mode (under a minute)
    python bench/run.py --full    # every size, generation time vs n, peak memory, then every bench_*.py
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # single-threaded BLAS for every benchmark

import importlib
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import rows

if __name__ == "__main__":
    rows.main(sys.argv[1:])
    if "--full" in sys.argv[1:]:
        for name in sorted(p.stem for p in pathlib.Path(__file__).parent.glob("bench_*.py")):
            print(f"\n==== {name} ====")
            importlib.import_module(name).main()
