"""The offline demo (`albert-bench demo`): run.py (the steps), data.py (learnable demo sets written
in the official formats), report.py (the artefacts from its records), corpus.txt (the shipped text).
"""
