"""Small, deterministic, LEARNABLE data sets in the official file formats, for the offline
demo and tests. The real loaders (tasks/glue.py, tasks/squad.py, tasks/race.py) read them.

    from albert_bench.demo.data import write_demo_data
    dirs = write_demo_data("reports/demo/data", seed=0, size="full")   # or size="ci" (~10x smaller)
    dirs["rte"]   # -> reports/demo/data/RTE (train.tsv, dev.tsv, test.tsv)

Every set is generated from templates by our own code (same seed -> identical bytes; one
generator per folder, so sets do not shift each other). Each has an intended signal that a
tiny randomly initialised ALBERT (hidden 128, 4 layers, lr 5e-4, batch 32) picks up in a few
hundred CPU steps. Plain cross-sentence matching ("is this word of s2 also in s1?") is NOT
learned in that budget (tried: dev at chance after 900 steps), so the pair sets carry their
label mainly in a polarity agreement (both sentences affirm, or both deny, the same fact),
an XOR such a model does learn; entity changes make up the rest. Templates and the polarity
of each sentence are drawn independently of the label.

| folder | format | what decides the label | chance | tiny model, 300 steps* |
|---|---|---|---|---|
| SST-2 | SST-2 | one clearly positive / negative word among neutral words | acc 0.5 | 1.00 |
| CoLA | CoLA (no header) | word order intact vs shuffled / two words swapped / a word doubled | MCC 0 | 0.86 |
| MRPC | MRPC | paraphrase = same event, same polarity; not: polarity flipped (75%) or 1-2 details changed | acc 0.5 (F1 0.67 for all "1") | acc 0.74 |
| RTE | RTE | entailed = a premise fact restated with the premise's polarity; not: polarity flipped (75%) or a value the premise never mentions | acc 0.5 | 0.90 |
| STS-B | STS-B (10 columns) | 5 x share of the event's 6 details s2 keeps (the rest mostly blurred to "someone", "some city"...) | Pearson 0 | 0.89 |
| squad | SQuAD v2.0 and v1.1 | the value of the asked fact (its kind mostly occurs once in the context); unanswerable: a kind the context never states, or a person / object it says nothing about (plausible answer given) | F1 ~50 (all null) | - |
| RACE | RACE | the option of the asked kind; middle: distractors of other kinds; high: one distractor is a same-kind value from the article | acc 0.25 | 0.65 (middle 0.82, high 0.45) |

(*) measured with transformers' AlbertFor* of the demo's size and a 3000-piece SentencePiece
model, not with our engine. Known residual cue: in MRPC / RTE a negation ANYWHERE in the pair
hints "not paraphrase / not entailed" (pooled bag of words: ~0.79 vs 0.99 with pair features;
either sentence alone: chance), as in real NLI data. SQuAD v1.1 files hold the answerable
questions only. Test splits are written without labels in the official test formats (RACE's
test set carries answers like the real one; SQuAD has no test split).
"""
from __future__ import annotations

import json
import random
from pathlib import Path

from albert_bench.io import atomic_write_json, atomic_write_text

SIZES = {  # examples (questions for SQuAD / RACE) per split
    "full": {"train": 2000, "dev": 200, "test": 100},
    "ci": {"train": 200, "dev": 40, "test": 20},
}

NAMES = ["Anna", "Peter", "David", "John", "Maria", "Emma", "Nina", "Omar", "Lucas", "Lena",
         "Sofia", "Ivan", "Hannah", "Noah", "Mateo", "Ravi"]
CITIES = ["Paris", "London", "Berlin", "Tokyo", "Oslo", "Madrid", "Lisbon", "Athens", "Cairo",
          "Rome", "Dublin", "Vienna"]
JOBS = ["baker", "teacher", "nurse", "farmer", "doctor", "writer", "sailor", "clerk", "plumber",
        "tailor", "gardener", "banker", "dentist", "lawyer", "painter", "pilot"]
COLORS = ["red", "blue", "green", "yellow", "black", "white", "brown", "silver", "purple", "pink"]
OBJECTS = ["car", "boat", "cup", "box", "key", "door", "table", "map", "radio", "piano",
           "clock", "bicycle", "basket", "letter", "gate", "lamp"]
ANIMALS = ["dog", "cat", "horse", "bird", "rabbit", "fish", "cow", "goat"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
VERB_BASE = {"bought": "buy", "sold": "sell", "found": "find", "lost": "lose", "painted": "paint",
             "repaired": "repair", "cleaned": "clean", "carried": "carry", "handled": "handle"}
VERBS = list(VERB_BASE)[:-1]   # "handled" is STS-B's vague verb

# --------------------------------------------------------------------------- facts
# One fact = (kind, subject, value). Every kind has statement forms, questions and a blank
# form (RACE's "_" questions); the value is always the answer span.
KINDS = {
    "city": dict(subjects=NAMES, values=CITIES,
                 forms=["{s} lives in {v}", "{s} has a home in {v}", "{s} moved to {v} last year"],
                 negated=["{s} does not live in {v}", "{s} does not have a home in {v}"],
                 questions=["Where does {s} live?", "In which city does {s} live?"],
                 blank="{s} lives in _ ."),
    "job": dict(subjects=NAMES, values=JOBS,
                forms=["{s} works as a {v}", "{s} is a {v}", "{s} has a job as a {v}"],
                negated=["{s} does not work as a {v}", "{s} is not a {v}"],
                questions=["What does {s} do for a living?", "What is the job of {s}?"],
                blank="{s} works as a _ ."),
    "color": dict(subjects=OBJECTS, values=COLORS,
                  forms=["the {s} is {v}", "the {s} was painted {v}", "the {s} in the garden is {v}"],
                  negated=["the {s} is not {v}", "the {s} was not painted {v}"],
                  questions=["What color is the {s}?", "Which color does the {s} have?"],
                  blank="The {s} is _ ."),
    "pet": dict(subjects=NAMES, values=ANIMALS,
                forms=["{s} has a {v}", "{s} keeps a {v} at home", "{s} takes care of a {v}"],
                negated=["{s} does not have a {v}", "{s} does not keep a {v} at home"],
                questions=["What animal does {s} have?", "Which pet does {s} keep?"],
                blank="{s} has a _ ."),
}
FILLERS = ["It was a quiet morning.", "The weather was warm and dry.", "Everybody was busy that week.",
           "The town is small but crowded.", "Nobody remembers the exact day."]


def _sample_facts(rng: random.Random, n: int, n_kinds: int = 2) -> list[tuple[str, str, str]]:
    """n facts with distinct (kind, subject) and, per kind, distinct values (unambiguous answers),
    drawn from `n_kinds` kinds (few kinds: several facts of a kind, distractors for binding)."""
    kinds = rng.sample(sorted(KINDS), n_kinds)
    facts, used = [], set()
    while len(facts) < n:
        kind = rng.choice(kinds)
        spec = KINDS[kind]
        s, v = rng.choice(spec["subjects"]), rng.choice(spec["values"])
        if (kind, s) in used or (kind, "v", v) in used:
            continue
        used |= {(kind, s), (kind, "v", v)}
        facts.append((kind, s, v))
    return facts


def _render(rng: random.Random, fact: tuple[str, str, str], negated: bool = False) -> tuple[str, int]:
    """A sentence stating the fact (or its negation), and the character offset of the value."""
    kind, s, v = fact
    form = rng.choice(KINDS[kind]["negated" if negated else "forms"])
    head, tail = form.split("{v}")
    head = head.format(s=s)
    head = head[0].upper() + head[1:]
    return head + v + tail + ".", len(head)


def _context(rng: random.Random, facts, fillers: float = 0.3) -> tuple[str, list[int]]:
    """Sentences of the facts, a filler before one with probability `fillers`; the value's
    character offset for each fact."""
    parts, offsets, pos = [], [], 0
    for i, fact in enumerate(facts):
        if rng.random() < fillers:
            filler = rng.choice(FILLERS)
            parts.append(filler)
            pos += len(filler) + 1
        sentence, at = _render(rng, fact)
        parts.append(sentence)
        offsets.append(pos + at)
        pos += len(sentence) + 1
    return " ".join(parts), offsets


# --------------------------------------------------------------------------- GLUE-format sets
POSITIVE = ["good", "great", "wonderful", "excellent", "lovely", "beautiful", "brilliant",
            "delightful", "amazing", "perfect", "charming", "enjoyable"]
NEGATIVE = ["bad", "awful", "terrible", "boring", "poor", "dull", "horrible", "weak",
            "annoying", "painful", "ugly", "disappointing"]
NEUTRAL = ["long", "short", "new", "old", "quiet", "simple", "slow", "loud", "early", "late",
           "french", "modern"]
TOPICS = ["the movie", "the film", "this story", "the acting", "the music", "the ending",
          "the script", "the cast", "the plot", "this show", "the camera work", "the dialogue"]
SENTIMENT_TEMPLATES = [
    "{t} was {a} .", "{t} is {n} but {a} .", "i thought {t} was {a} , and {t2} was {n} .",
    "a {n} and {a} experience from start to finish .", "{t} felt {i} {a} to me .",
    "honestly , {t} is {i} {a} .", "{t} , which is {n} , turned out {a} .",
    "{t2} is {n} , {t} is {a} .", "we found {t} {i} {a} and {t2} {n} .",
    "it is a {n} picture and {t} is {a} .",
]
INTENSIFIERS = ["really", "very", "quite", "truly", "rather", "pretty"]


def sst2_example(rng: random.Random, label: int) -> str:
    t, t2 = rng.sample(TOPICS, 2)
    a = rng.choice(POSITIVE if label else NEGATIVE)
    return rng.choice(SENTIMENT_TEMPLATES).format(t=t, t2=t2, a=a, n=rng.choice(NEUTRAL),
                                                  i=rng.choice(INTENSIFIERS))


EVENT_TEMPLATES = [  # MRPC / STS-B / CoLA: one event, six slots, several word orders
    "{name} {active} a {color} {obj} in {city} on {day}.",
    "On {day}, {name} {active} a {color} {obj} in {city}.",
    "In {city}, a {color} {obj} was {passive} by {name} on {day}.",
    "A {color} {obj} was {passive} by {name} in {city} on {day}.",
    "{name} was in {city} on {day} and {active} a {color} {obj} there.",
]
EVENT_SLOTS = {"name": NAMES, "verb": VERBS, "color": COLORS, "obj": OBJECTS, "city": CITIES, "day": DAYS}
# STS-B: a detail s2 does not keep is mostly blurred to a vague word, sometimes replaced.
VAGUE = {"name": "someone", "verb": "handled", "color": "", "obj": "thing", "city": "some city", "day": "some day"}


def _event(rng: random.Random) -> dict[str, str]:
    return {slot: rng.choice(values) for slot, values in EVENT_SLOTS.items()}


def _change(rng: random.Random, event: dict, n: int, vague: float = 0.0) -> dict:
    """The event with n slots changed: blurred (probability `vague`) or another value."""
    out = dict(event)
    for slot in rng.sample(sorted(EVENT_SLOTS), n):
        other = rng.choice([v for v in EVENT_SLOTS[slot] if v != event[slot]])
        out[slot] = VAGUE[slot] if rng.random() < vague else other
    return out


def _say(template: str, event: dict, denied: bool = False) -> str:
    verb = event["verb"]
    active, passive = (f"did not {VERB_BASE[verb]}", f"not {verb}") if denied else (verb, verb)
    text = " ".join(template.format(active=active, passive=passive, **event).split())
    return text[0].upper() + text[1:]


def _event_pair(rng: random.Random, event: dict, other: dict, denied1=False, denied2=False) -> tuple[str, str]:
    t1, t2 = rng.sample(EVENT_TEMPLATES, 2)    # always two different wordings
    return _say(t1, event, denied1), _say(t2, other, denied2)


def cola_example(rng: random.Random, label: int) -> str:
    if rng.random() < 0.5:
        sentence = _say(rng.choice(EVENT_TEMPLATES), _event(rng), rng.random() < 0.2)
    else:
        sentence = " ".join(_render(rng, f)[0] for f in _sample_facts(rng, 1))
    words = sentence[:-1].split()   # the final "." stays in place: only the order inside counts
    if not label:
        original = list(words)
        while words == original:
            how = rng.random()
            if how < 0.4:
                rng.shuffle(words)
            elif how < 0.7:
                i = rng.randrange(len(words) - 1)
                words[i], words[i + 1] = words[i + 1], words[i]
            else:
                i = rng.randrange(len(words))
                words.insert(i, words[i])
    words[0] = words[0][0].upper() + words[0][1:]
    return " ".join(words) + "."


def rte_example(rng: random.Random, label: int) -> tuple[str, str]:
    """Premise: 1-3 facts, all affirmed or all denied. Hypothesis: one of them; not entailed
    when its polarity is flipped (75%) or its value is one the premise does not mention."""
    facts = _sample_facts(rng, rng.randint(1, 3))
    denied = rng.random() < 0.5
    clauses = [_render(rng, f, denied)[0][:-1] for f in facts]
    clauses = [clauses[0]] + [c[0].lower() + c[1:] if c.startswith("The ") else c for c in clauses[1:]]
    premise = (", ".join(clauses[:-1]) + " and " if len(clauses) > 1 else "") + clauses[-1] + "."
    kind, s, v = rng.choice(facts)
    if not label:
        if rng.random() < 0.75:
            denied = not denied
        else:
            v = rng.choice([x for x in KINDS[kind]["values"] if x not in {f[2] for f in facts}])
    return premise, _render(rng, (kind, s, v), denied)[0]


def _balanced_labels(rng: random.Random, n: int, k: int = 2) -> list[int]:
    labels = [i % k for i in range(n)]
    rng.shuffle(labels)
    return labels


def _tsv(path: Path, header: list[str] | None, rows: list[list]) -> None:
    lines = (["\t".join(header)] if header else []) + ["\t".join(str(c) for c in r) for r in rows]
    atomic_write_text(path, "\n".join(lines) + "\n")


def write_sst2(out: Path, rng: random.Random, sizes: dict) -> None:
    for split, n in sizes.items():
        labels = _balanced_labels(rng, n)
        if split == "test":
            _tsv(out / "test.tsv", ["index", "sentence"], [[i, sst2_example(rng, y)] for i, y in enumerate(labels)])
        else:
            _tsv(out / f"{split}.tsv", ["sentence", "label"], [[sst2_example(rng, y), y] for y in labels])


def write_cola(out: Path, rng: random.Random, sizes: dict) -> None:
    for split, n in sizes.items():
        labels = _balanced_labels(rng, n)
        if split == "test":
            _tsv(out / "test.tsv", ["index", "sentence"], [[i, cola_example(rng, y)] for i, y in enumerate(labels)])
        else:   # no header; source, label, original mark ("*" = unacceptable), sentence
            _tsv(out / f"{split}.tsv", None,
                 [[f"demo{i % 7}", y, "" if y else "*", cola_example(rng, y)] for i, y in enumerate(labels)])


def write_mrpc(out: Path, rng: random.Random, sizes: dict) -> None:
    ids = iter(range(100000, 10 ** 7, 7))
    for split, n in sizes.items():
        rows = []
        for i, y in enumerate(_balanced_labels(rng, n)):
            # Not a paraphrase: the event denied in one sentence only, or one or two details changed.
            event, denied = _event(rng), rng.random() < 0.5
            flip = not y and rng.random() < 0.75
            other = event if y or flip else _change(rng, event, rng.randint(1, 2))
            s1, s2 = _event_pair(rng, event, other, denied, denied != flip)
            rows.append([i if split == "test" else y, next(ids), next(ids), s1, s2])
        first = "index" if split == "test" else "Quality"
        _tsv(out / f"{split}.tsv", [first, "#1 ID", "#2 ID", "#1 String", "#2 String"], rows)


def write_rte(out: Path, rng: random.Random, sizes: dict) -> None:
    for split, n in sizes.items():
        rows = []
        for i, y in enumerate(_balanced_labels(rng, n)):
            premise, hypothesis = rte_example(rng, y)
            rows.append([i, premise, hypothesis] + ([] if split == "test" else
                                                     ["entailment" if y else "not_entailment"]))
        _tsv(out / f"{split}.tsv", ["index", "sentence1", "sentence2"] + ([] if split == "test" else ["label"]), rows)


def write_stsb(out: Path, rng: random.Random, sizes: dict) -> None:
    header = ["index", "genre", "filename", "year", "old_index", "source1", "source2", "sentence1", "sentence2"]
    for split, n in sizes.items():
        rows = []
        for i in range(n):
            event, kept = _event(rng), rng.randint(0, len(EVENT_SLOTS))
            s1, s2 = _event_pair(rng, event, _change(rng, event, len(EVENT_SLOTS) - kept, vague=0.7))
            row = [i, "main-demo", "demo", "2024", f"{i:04d}", "none", "none", s1, s2]
            rows.append(row if split == "test" else row + [f"{5 * kept / len(EVENT_SLOTS):.3f}"])
        _tsv(out / f"{split}.tsv", header + ([] if split == "test" else ["score"]), rows)


# --------------------------------------------------------------------------- SQuAD / RACE
def squad_paragraph(rng: random.Random, pid: str) -> dict:
    """One fact among filler sentences, stated (answerable) or denied (unanswerable, the denied
    value as the plausible answer: "Where does Anna live?" against "Anna does not live in
    Paris."); 1-2 questions about it. A small model trained from scratch in a few hundred steps
    learns to find the value and to read the negation; it does not learn in that budget to
    match a question's kind against several facts (tried: it ignores the question), so the
    set keeps one fact per paragraph."""
    kind = rng.choice(sorted(KINDS))
    spec = KINDS[kind]
    fact = (kind, rng.choice(spec["subjects"]), rng.choice(spec["values"]))
    impossible = rng.random() < 0.5
    sentence, at = _render(rng, fact, negated=impossible)
    fillers = rng.sample(FILLERS, rng.randint(1, 3))
    cut = rng.randint(0, len(fillers))
    before, after = fillers[:cut], fillers[cut:]
    start = sum(len(f) + 1 for f in before) + at
    context = " ".join(before + [sentence] + after)
    answer = {"text": fact[2], "answer_start": start}
    assert context[start:start + len(fact[2])] == fact[2], "answer offset out of step with the context"
    qas = []
    for q, template in enumerate(rng.sample(spec["questions"], rng.randint(1, 2))):
        question = template.format(s=fact[1])
        if impossible:
            qas.append({"id": f"{pid}q{q}", "question": question, "answers": [],
                        "plausible_answers": [answer], "is_impossible": True})
        else:
            qas.append({"id": f"{pid}q{q}", "question": question, "answers": [answer], "is_impossible": False})
    return {"context": context, "qas": qas}


def write_squad(out: Path, rng: random.Random, sizes: dict) -> None:
    for split in ("train", "dev"):
        paragraphs, n = [], 0
        while n < sizes[split]:
            paragraphs.append(squad_paragraph(rng, f"{split}{len(paragraphs):05d}"))
            n += len(paragraphs[-1]["qas"])
        articles = [{"title": f"Demo_{split}_{a}", "paragraphs": paragraphs[a * 10:(a + 1) * 10]}
                    for a in range((len(paragraphs) + 9) // 10)]
        atomic_write_json(out / f"{split}-v2.0.json", {"version": "v2.0", "data": articles})
        # The v1.1 files: the same paragraphs with the answerable questions only.
        v1 = [{"title": a["title"], "paragraphs": [
            {"context": p["context"], "qas": [{"id": qa["id"], "question": qa["question"], "answers": qa["answers"]}
                                              for qa in p["qas"] if not qa["is_impossible"]]}
            for p in a["paragraphs"]]} for a in articles]
        atomic_write_json(out / f"{split}-v1.1.json", {"version": "1.1", "data": v1})


def race_article(rng: random.Random, file_id: str, level: str) -> dict:
    """Middle: 2-3 facts of 2-3 kinds; high: 4-5 facts of two kinds (longer articles, so the
    article is cut more often). The distractors are of other kinds than the question asks for
    (taken from the article when it has them), so the right option is the one that fits the
    question; a small model trained from scratch learns that in a few hundred steps, while
    binding a subject to its value across sentences it does not learn in that budget."""
    if level == "middle":
        facts = _sample_facts(rng, rng.randint(2, 3), n_kinds=rng.randint(2, 3))
    else:
        facts = _sample_facts(rng, rng.randint(4, 5), n_kinds=2)
    article, _ = _context(rng, facts, fillers=0.1)
    questions, options, answers = [], [], []
    for i in rng.sample(range(len(facts)), min(len(facts), rng.randint(1, 3))):
        kind, s, v = facts[i]
        other_in_article = [f[2] for f in facts if f[0] != kind]
        other_kinds = [x for k in sorted(KINDS) if k != kind for x in KINDS[k]["values"] if x not in other_in_article]
        choices = rng.sample(other_in_article, min(len(other_in_article), 3))
        choices += rng.sample(other_kinds, 3 - len(choices))
        rng.shuffle(choices)
        letter = rng.randrange(4)
        choices.insert(letter, v)
        spec = KINDS[kind]
        # Mostly "_" questions: the filled-in option reads right or wrong locally ("works as a nurse").
        questions.append(spec["blank"].format(s=s) if rng.random() < 0.7 else rng.choice(spec["questions"]).format(s=s))
        options.append(choices)
        answers.append("ABCD"[letter])
    return {"answers": answers, "options": options, "questions": questions, "article": article, "id": file_id}


def write_race(out: Path, rng: random.Random, sizes: dict) -> None:
    for split, n in sizes.items():
        counts, made = {"middle": 0, "high": 0}, 0
        while made < n:
            level = "middle" if made % 2 == 0 else "high"
            counts[level] += 1
            obj = race_article(rng, f"{level}{counts[level]}.txt", level)
            # RACE's own test set carries answers; a second copy without them is not needed.
            atomic_write_text(out / split / level / f"{counts[level]}.txt", json.dumps(obj))
            made += len(obj["questions"])


WRITERS = {  # task name -> (folder, writer)
    "sst2": ("SST-2", write_sst2), "cola": ("CoLA", write_cola), "mrpc": ("MRPC", write_mrpc),
    "rte": ("RTE", write_rte), "stsb": ("STS-B", write_stsb), "squad_v1": ("squad", write_squad),
    "squad_v2": ("squad", write_squad), "race": ("RACE", write_race),
}


def write_demo_data(out_dir: str | Path, seed: int = 0, size: str = "full") -> dict[str, Path]:
    """Write every demo set under out_dir; return task name -> the folder to pass as --data-dir."""
    if size not in SIZES:
        raise ValueError(f"unknown demo size {size!r}; choose one of {', '.join(SIZES)}")
    out_dir = Path(out_dir)
    dirs: dict[str, Path] = {}
    for task, (folder, writer) in WRITERS.items():
        if out_dir / folder not in dirs.values():   # squad_v1 and squad_v2 share one folder
            # One generator per set, seeded by (seed, folder): sets do not shift each other.
            writer(out_dir / folder, random.Random(f"{seed}-{folder}"), dict(SIZES[size]))
        dirs[task] = out_dir / folder
    return dirs
