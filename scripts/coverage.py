#!/usr/bin/env python
"""Print how much of NumPy, numpy.linalg and scipy.special npdiff supports.

Usage: python scripts/coverage.py [-v]   (-v also lists the unsupported names)
"""
import sys

from npdiff.supported import coverage_report

if __name__ == "__main__":
    print(coverage_report(verbose="-v" in sys.argv[1:]))
