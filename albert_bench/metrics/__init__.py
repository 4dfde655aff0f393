"""Metric maths, shared by the tasks (which score with them) and the reports (which resample them).

glue.py: accuracy, F1, MCC, Pearson / Spearman, each with its direction (sklearn / scipy).
squad.py: the official SQuAD v1.1 / v2.0 rules, the best-threshold walk, token F1.
A layer of its own because both the task adapters and the reports need it, and the reports must
never import the engine. Imports nothing from albert_bench.
"""
