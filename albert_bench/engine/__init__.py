"""The engine: what turns a model, a task object and a recipe into a scored run.

batching.py (dynamic padding, length-grouped and sorted batches), evaluation.py (device, precision,
output collection), train.py (optimizer, schedule, loop, checkpoints, resume), distributed.py
(torchrun helpers), inputs.py (the input settings saved with a checkpoint), fill_mask.py (the
fill-mask pipeline), tracking.py (--report-to: TensorBoard / MLflow, optional extras), runs.py
(finetune / evaluate / predict / score as keyword-argument functions).
Imports modeling/, metrics/ and the shared records/io; takes task objects as arguments and never
imports the registry, the suite, the reports, the bias probes, the demo or the CLI.
"""
