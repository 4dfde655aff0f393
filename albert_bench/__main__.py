"""`python -m albert_bench ...` is the same as `albert-bench ...`."""
import sys

from albert_bench.cli import main

sys.exit(main())
