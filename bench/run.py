"""Run every benchmark in this folder, side by side in one process."""
import importlib
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))

for name in sorted(p.stem for p in pathlib.Path(__file__).parent.glob("bench_*.py")):
    print(f"==== {name} ====")
    importlib.import_module(name).main()
