"""The (model, task, seed) grid: plan.py (jobs, folders, recipes, record identity, shards) and
runner.py (runs the plan: skip finished jobs, resume interrupted ones, summary tables).
Imports the engine and the reports (for the summary tables); takes the task registry as arguments.
"""
