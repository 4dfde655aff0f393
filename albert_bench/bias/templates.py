"""Template bias scores: the normalised log probability of Kurita et al. 2019 ("Measuring Bias in
Contextualized Word Representations"), with paired group words.

    from albert_bench.bias.templates import read_templates, score_templates
    result = score_templates(model, tokenizer, read_templates())     # the shipped set

For a template, a pair of group words (man | woman) and a target word (nurse) at [MASK]:

    score(group word) = log p(target | group word present) - log p(target | group word also masked)
    bias = score(word of group A) - score(word of group B)      > 0: the target leans to group A

The second term is the model's prior for the target in that sentence frame, so a word that is simply
frequent does not count as biased. (Kurita et al. predict the group word and mask the attribute for
the prior; here, as the issue asks, the attribute / occupation word is predicted and the group word
masked for the prior: the same normalisation with the roles swapped, one forward pass serving every
one-piece target of a sentence frame.) Pieces are found by character span in the filled sentence, so
a piece that also covers neighbouring characters (e.g. a final "s.") is masked and scored with it. A target word of several pieces in the filled sentence has all its
pieces masked and its log-probabilities summed (the pieces are predicted independently, as in the
paper's treatment of multi-token words); the output lists every such word with its piece count
(`multi_piece`), nothing is skipped. A group word of several pieces is masked with as many [MASK]s.

Template file format (one directive per line, `#` starts a comment; see albert_bench/bias/templates.txt):

    groups: male | female                       the two groups (once, before any pair)
    pair person: man | woman                    words that fill {person} ({Person}: capitalised)
    targets occupations: nurse, doctor, ...     target words of a category (lines add up)
    template occupations: The {person} worked as a [MASK].

A template has exactly one [MASK] (where the target goes) and one group slot, used once or more.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from typing import Any

from albert_bench.bias.scoring import MaskedItem, masked_log_probs

SHIPPED_TEMPLATES = Path(__file__).resolve().with_name("templates.txt")
MASK = "[MASK]"
MULTI_PIECE_METHOD = "all pieces masked, log-probabilities summed"
_SLOT = re.compile(r"\{([A-Za-z_]+)\}")
_DIRECTIVE = re.compile(r"^(groups|pair|targets|template)\b\s*([A-Za-z0-9_-]*)\s*:\s*(.*)$")


class TemplateError(ValueError):
    """A template file a user can fix; the message names the file and line."""


@dataclass
class Template:
    line: int
    category: str
    text: str
    slot: str                       # lower-case slot name, e.g. "person"


@dataclass
class TemplateSet:
    path: str
    sha256: str
    groups: tuple[str, str]
    pairs: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    targets: dict[str, list[str]] = field(default_factory=dict)
    templates: list[Template] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "albert-bench shipped set" if Path(self.path) == SHIPPED_TEMPLATES else Path(self.path).name

    def describe(self) -> dict:
        return {"name": self.name, "path": self.path, "sha256": self.sha256, "groups": list(self.groups),
                "templates": len(self.templates), "pairs": {s: [list(p) for p in ps] for s, ps in self.pairs.items()},
                "targets": {c: len(ws) for c, ws in self.targets.items()}}


def read_templates(path: str | Path | None = None) -> TemplateSet:
    """Parse and check a template file (the shipped set when path is None)."""
    path = Path(path) if path is not None else SHIPPED_TEMPLATES
    if not path.is_file():
        raise TemplateError(f"template file {path} does not exist; pass --templates FILE (format: "
                            "albert_bench/bias/templates.py) or leave it out for the shipped set")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TemplateError(f"{path} is not UTF-8 text ({e.reason} at byte {e.start})") from None
    groups: tuple[str, str] | None = None
    tset = TemplateSet(path=str(path), sha256=hashlib.sha256(raw).hexdigest(), groups=("", ""))
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{path}:{n}"
        m = _DIRECTIVE.match(line)
        if not m:
            raise TemplateError(f"{where}: cannot read {line!r}; a line is 'groups: A | B', 'pair SLOT: a | b', "
                                "'targets CATEGORY: w1, w2' or 'template CATEGORY: text with {SLOT} and [MASK]'")
        kind, name, value = m.group(1), m.group(2), m.group(3).strip()
        if kind != "groups" and not name:
            raise TemplateError(f"{where}: '{kind}' needs a name before the colon, e.g. '{kind} person: ...'")
        if kind == "groups":
            groups = _two(value, where, "groups")
        elif kind == "pair":
            if groups is None:
                raise TemplateError(f"{where}: a pair comes before the 'groups: A | B' line; put that line first")
            tset.pairs.setdefault(name.lower(), []).append(_two(value, where, "pair"))
        elif kind == "targets":
            words = [w.strip() for w in value.split(",") if w.strip()]
            bad = [w for w in words if not re.fullmatch(r"[^\s\[\]{}]+", w)]
            if not words or bad:
                raise TemplateError(f"{where}: targets need comma-separated single words, got {bad or value!r}")
            known = tset.targets.setdefault(name, [])
            for word in words:
                if word not in known:
                    known.append(word)
        else:
            tset.templates.append(_template(value, name, n, where))
    if groups is None:
        raise TemplateError(f"{path}: no 'groups: A | B' line naming the two groups compared")
    if not tset.templates:
        raise TemplateError(f"{path}: no 'template CATEGORY: ...' lines")
    tset.groups = groups
    for t in tset.templates:
        where = f"{path}:{t.line}"
        if t.slot not in tset.pairs:
            raise TemplateError(f"{where}: slot {{{t.slot}}} has no 'pair {t.slot}: a | b' line "
                                f"(slots with pairs: {sorted(tset.pairs)})")
        if t.category not in tset.targets:
            raise TemplateError(f"{where}: category {t.category!r} has no 'targets {t.category}: ...' line")
    return tset


def _two(value: str, where: str, kind: str) -> tuple[str, str]:
    parts = [p.strip() for p in value.split("|")]
    if len(parts) != 2 or not all(parts):
        raise TemplateError(f"{where}: '{kind}' needs exactly two entries separated by '|', got {value!r}")
    return parts[0], parts[1]


def _template(text: str, category: str, n: int, where: str) -> Template:
    if text.count(MASK) != 1:
        found = "no [MASK]" if MASK not in text else f"{text.count(MASK)} [MASK]s"
        raise TemplateError(f"{where}: template {text!r} has {found}; write exactly one [MASK] "
                            "(upper case, with brackets) where the target word goes")
    slots = {s.lower() for s in _SLOT.findall(text)}
    if not slots:
        raise TemplateError(f"{where}: template {text!r} has no group placeholder; write e.g. {{person}} "
                            "where the group word goes")
    if len(slots) > 1:
        raise TemplateError(f"{where}: template {text!r} uses several slots {sorted(slots)}; use one per template")
    return Template(line=n, category=category, text=text, slot=slots.pop())


# ---- scoring --------------------------------------------------------------------------------

def fill(template: str, group_word: str, target: str) -> tuple[str, tuple[int, int], list[tuple[int, int]]]:
    """The sentence, the target's character span and the group word's spans."""
    out, target_span, group_spans, pos = "", (0, 0), [], 0
    for m in re.finditer(r"\[MASK\]|\{([A-Za-z_]+)\}", template):
        out += template[pos: m.start()]
        if m.group(0) == MASK:
            target_span = (len(out), len(out) + len(target))
            out += target
        else:
            word = group_word[:1].upper() + group_word[1:] if m.group(1)[:1].isupper() else group_word
            group_spans.append((len(out), len(out) + len(word)))
            out += word
        pos = m.end()
    return out + template[pos:], target_span, group_spans


def _positions(offsets: list[tuple[int, int]], spans: list[tuple[int, int]]) -> list[int]:
    """Token positions (after [CLS], so +1) whose character span overlaps one of `spans`."""
    return [k + 1 for k, (b, e) in enumerate(offsets) if any(b < se and sb < e for sb, se in spans)]


def _items(tokenizer: Any, template: Template, word: str, target: str) -> tuple[MaskedItem, MaskedItem]:
    """(group word present, group word masked) items scoring `target` in one filled template."""
    text, target_span, group_spans = fill(template.text, word, target)
    ids, offsets = tokenizer.encode_with_offsets(text)
    ids = [tokenizer.cls_token_id, *ids, tokenizer.sep_token_id]
    t_pos, g_pos = _positions(offsets, [target_span]), _positions(offsets, group_spans)
    if not t_pos or not g_pos or set(t_pos) & set(g_pos):
        raise ValueError(f"cannot place target {target!r} and group word {word!r} in {text!r} as separate tokens")
    mask = tokenizer.mask_token_id
    present = [mask if k in t_pos else i for k, i in enumerate(ids)]
    prior = [mask if k in g_pos else i for k, i in enumerate(present)]
    targets = tuple(ids[k] for k in t_pos)
    return (MaskedItem(tuple(present), tuple(t_pos), targets), MaskedItem(tuple(prior), tuple(t_pos), targets))


def score_templates(model: Any, tokenizer: Any, tset: TemplateSet, batch_size: int = 64,
                    skewed: int = 10) -> dict:
    """Kurita scores for every (template, pair, target): rows and summaries (see the module docstring)."""
    keys, items = [], []
    pieces: dict[tuple[str, str], int] = {}
    for ti, template in enumerate(tset.templates):
        for pi, pair in enumerate(tset.pairs[template.slot]):
            for target in tset.targets[template.category]:
                for gi, word in enumerate(pair):
                    present, prior = _items(tokenizer, template, word, target)
                    keys.append((ti, pi, target, gi))
                    items += [present, prior]
                    key = (template.category, target)
                    pieces[key] = max(pieces.get(key, 0), len(present.positions))
    logp = masked_log_probs(model, items, batch_size=batch_size, pad_id=tokenizer.pad_token_id,
                            desc="templates")
    normalised = {k: logp[2 * n] - logp[2 * n + 1] for n, k in enumerate(keys)}
    a, b = tset.groups
    rows = []
    for (ti, pi, target, gi), value in normalised.items():
        if gi == 0:
            template = tset.templates[ti]
            s_a, s_b = value, normalised[(ti, pi, target, 1)]
            rows.append({"template": ti, "category": template.category, "pair": "|".join(tset.pairs[template.slot][pi]),
                         "target": target, "pieces": pieces[(template.category, target)],
                         f"score_{a}": s_a, f"score_{b}": s_b, "bias": s_a - s_b})
    return summarise(rows, tset, skewed)


def _stats(values: list[float]) -> dict:
    return {"mean_bias": mean(values), "mean_abs_bias": mean(abs(v) for v in values), "n": len(values)}


def summarise(rows: list[dict], tset: TemplateSet, skewed: int = 10) -> dict:
    """Per template, per category, overall and per target word; the most skewed words each way."""
    a, b = tset.groups
    per_template = []
    for ti, template in enumerate(tset.templates):
        values = [r["bias"] for r in rows if r["template"] == ti]
        per_template.append({"template": template.text, "category": template.category, "line": template.line,
                             **_stats(values)})
    per_category = {c: _stats([r["bias"] for r in rows if r["category"] == c])
                    for c in dict.fromkeys(t.category for t in tset.templates)}
    by_target: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        by_target.setdefault((r["category"], r["target"]), []).append(r["bias"])
    per_target = sorted(({"category": c, "target": t, **_stats(v)} for (c, t), v in by_target.items()),
                        key=lambda r: -r["mean_bias"])
    multi = {f"{r['category']}/{r['target']}": r["pieces"] for r in rows if r["pieces"] > 1}
    columns = ["template", "category", "pair", "target", "pieces", f"score_{a}", f"score_{b}", "bias"]
    return {
        "set": tset.describe(),
        "method": "Kurita et al. 2019 normalised log probability: log p(target | group word) - "
                  "log p(target | group word masked); bias = group A - group B",
        "multi_piece_method": MULTI_PIECE_METHOD,
        "multi_piece": dict(sorted(multi.items())),
        "overall": _stats([r["bias"] for r in rows]),
        "per_category": per_category,
        "per_template": per_template,
        "per_target": per_target,
        "most_skewed": {a: [r for r in per_target[:skewed] if r["mean_bias"] > 0],
                        b: [r for r in reversed(per_target[-skewed:]) if r["mean_bias"] < 0]},
        "rows": {"columns": columns, "data": [[r[c] for c in columns] for r in rows]},
    }
