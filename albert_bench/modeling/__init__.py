"""The model layer: ALBERT itself, with nothing of training or tasks in it.

config.py (AlbertConfig, presets), model.py (encoder + heads, Hugging Face names), checkpoint.py
(from_pretrained / save_pretrained: safetensors, weights-only .bin, the hub), params.py (sharing
strategies, parameter counts), squad_head.py (ALBERT's own SQuAD 2.0 head), tokenizer.py (the SentencePiece tokenizer's call API) on normalize.py (the
original ALBERT preprocessing rule). Imports only albert_bench.io.
"""
