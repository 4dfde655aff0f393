"""A small multi-document corpus with the two discourse signals the paper's sentence tasks rely on,
for Table 5 at small scale (albert_bench.demo.table5). Our own templates, seeded: the same seed
gives identical bytes.

    from albert_bench.demo.documents import generate_documents, write_corpus
    docs = generate_documents(seed=0, n=3000)        # [Document(sentences, entities, days), ...]
    write_corpus("out/table5/corpus.txt", seed=0)    # a sentence per line, a blank line between documents

Every document is a short story (6-12 sentences) about ITS OWN entities: a person (full name at
first mention, then the first name or a pronoun), a city, a setting drawn from THEMES (a farm, a
harbour, a school... each with its own job, places, objects and verbs), two or three objects of
that setting and a friend. The two signals:

- TOPIC coherence (what NSP can use): every sentence of a document names its person, setting or
  objects, and a random other document almost always has other ones (a theme in 12, a person in
  ~1400). "B comes from another document" is visible from the words alone, without reading order.
- ORDER cues (what SOP needs): a story always opens with the introduction ("Anna Berg was a
  baker who lived in Oslo.") and ends with a closing sentence ("In the end, ..."); an object or
  the friend is introduced ("a red kettle", "a friend called Omar") in the sentence before it is
  referred to ("the kettle", "Omar"); a day counter only grows ("On day 2", "On day 5"), and
  about half of the sentences carry a time marker ("The next morning", "Two days later",
  "After that"). Swapping two consecutive segments puts references before introductions, later
  days before earlier ones and the ending before the middle; the topic does not change.

What makes the paper's asymmetry possible, and what is NOT built in: an NSP negative (B from a
random document) can be told by topic alone, so a model trained on NSP need not learn the order
cues. An SOP model must read the order cues; in an NSP negative those cues are also misaligned (B
refers to things A never introduced, its day counter and its place in its own story are unrelated
to A's), which an SOP head may read as "not in order". Nothing here makes a random-document pair
look swapped on purpose: B is drawn by the pretraining code from a random position of a random
document, and its cues say whatever that position says (about half the time they happen to look
"in order" relative to A).

What the small scale measured (table5.py's docstring has the numbers): the NSP-trained model is
NOT at chance on SOP. A random B comes from a random STAGE of its story (the opening, the
introductions, the closing sentence), so "B looks earlier in a story than A" also separates NSP
negatives; a 4-layer model learns that faster than matching names and objects across segments,
and the more it trains, the more it uses it (72.6 on SOP once NSP's random B stopped ending
mid-sentence, a format cue it had read instead: 62.6 before). Without the closing sentence
(tried, not kept; old random B) the NSP model's SOP stays at 64.3, while the SOP model learns SOP later and less (74.0; NSP 56.0): the
closing sentence is much of what the SOP head reads, not what the NSP head transfers.

Proportions are kept plausible rather than maximal: time markers in about half of the middle
sentences, pronouns for a third of the person's mentions, day counters in about a third.

Designs tried against the stage cues (DESIGNS; not the default, as they did not show the finding
better): "chain": every sentence has one form, '{Name} <verb> the {previous thing} ... a {new
thing}' (a made-up name per story, ~3000 distinct in 3000; no opening, ending or counter, so one
segment does not tell its position); the only order cue is local: B's first "the X" is A's last
"a X". "weekdays": the same, each sentence also opening with the day after the previous one's
("On Friday, ..."), the first day random. Measured (SMALL settings, seed 0, held-out %, NSP / SOP
of the nsp and sop models; the old mid-sentence random B, see pretraining/data.py _random_b):
chain nsp 72.9 / 54.3, sop 49.8 / 53.8; weekdays nsp 76.0 / 57.3, sop 56.9 / 54.5. The NSP
model's SOP falls to about chance, but the SOP model does not learn SOP at all in 1500 steps
(loss still ~0.65). And the chain NSP model's 72.9 was the format cue, not the names: "B ends
with a period" alone scores 71.4 there, and with the whole-sentence random B the chain NSP model
scores 55.4 on NSP (SOP 53.1). In 1500 steps a 4-layer model learns no matching ACROSS the [SEP]
(names, objects, days); it learns what one segment shows on its own (its stage in a story, how it
ends). So at this scale SOP is learnable only from global cues, and they separate NSP's random B.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from albert_bench.io import atomic_write_text

FIRST = {"Anna": "she", "Maria": "she", "Emma": "she", "Nina": "she", "Lena": "she", "Sofia": "she",
         "Hannah": "she", "Clara": "she", "Julia": "she", "Eva": "she", "Rosa": "she", "Alice": "she",
         "Mila": "she", "Grace": "she", "Irene": "she", "Laura": "she", "Peter": "he", "David": "he",
         "John": "he", "Omar": "he", "Lucas": "he", "Ivan": "he", "Noah": "he", "Mateo": "he", "Ravi": "he",
         "Felix": "he", "Hugo": "he", "Oscar": "he", "Samuel": "he", "Tomas": "he", "Victor": "he",
         "Leo": "he"}
SURNAMES = ["Berg", "Novak", "Silva", "Weber", "Moreau", "Costa", "Larsen", "Rossi", "Kowalski", "Fischer",
            "Lindqvist", "Duarte", "Hansen", "Brandt", "Kemp", "Ortega", "Vogel", "Marsh", "Quinn", "Holm",
            "Adler", "Perez", "Stone", "Wolfe", "Barros", "Keller", "Nash", "Frost", "Lange", "Reyes"]
CITIES = ["Paris", "London", "Berlin", "Tokyo", "Oslo", "Madrid", "Lisbon", "Athens", "Cairo", "Rome", "Dublin",
          "Vienna", "Prague", "Warsaw", "Lima", "Quito", "Nairobi", "Dakar", "Hanoi", "Seoul", "Manila", "Perth",
          "Toronto", "Denver", "Boston", "Havana", "Bergen", "Porto", "Krakow", "Milan"]
ADJECTIVES = ["old", "new", "red", "blue", "green", "small", "heavy", "wooden", "broken", "shiny", "yellow", "large"]

# A setting: the person's job, places, objects and what one does with them (verbs take "the X").
THEMES = {
    "farm": dict(job="farmer", places=["barn", "field", "orchard"], objects=["tractor", "fence", "bucket", "plough",
                 "ladder"], verbs=["repaired", "painted", "moved", "cleaned"], work="fed the goats"),
    "harbour": dict(job="fisher", places=["harbour", "pier", "boathouse"], objects=["boat", "net", "anchor", "rope",
                    "lantern"], verbs=["mended", "loaded", "tied", "checked"], work="sailed out at dawn"),
    "school": dict(job="teacher", places=["classroom", "library", "schoolyard"], objects=["globe", "chalkboard",
                   "notebook", "map", "bell"], verbs=["showed", "cleaned", "hung", "carried"],
                   work="marked the tests"),
    "bakery": dict(job="baker", places=["bakery", "kitchen", "market"], objects=["oven", "tray", "mixer", "basket",
                   "dough"], verbs=["heated", "washed", "filled", "carried"], work="baked bread for the town"),
    "garden": dict(job="gardener", places=["garden", "greenhouse", "park"], objects=["hose", "rake", "wheelbarrow",
                   "seed box", "hedge"], verbs=["watered", "trimmed", "pushed", "emptied"],
                   work="planted tulips"),
    "hospital": dict(job="nurse", places=["ward", "clinic", "pharmacy"], objects=["stretcher", "bandage",
                     "thermometer", "chart", "trolley"], verbs=["checked", "carried", "sorted", "cleaned"],
                     work="looked after the patients"),
    "workshop": dict(job="carpenter", places=["workshop", "yard", "shed"], objects=["saw", "chair", "cabinet",
                     "hammer", "plank"], verbs=["sanded", "fixed", "built", "polished"], work="cut new boards"),
    "railway": dict(job="driver", places=["station", "platform", "depot"], objects=["train", "signal", "whistle",
                    "timetable", "carriage"], verbs=["inspected", "oiled", "tested", "cleaned"],
                    work="drove the morning train"),
    "museum": dict(job="curator", places=["museum", "gallery", "archive"], objects=["painting", "statue", "vase",
                   "coin", "helmet"], verbs=["labelled", "restored", "moved", "dusted"],
                   work="opened a new exhibition"),
    "mountain": dict(job="guide", places=["cabin", "valley", "summit"], objects=["tent", "compass", "backpack",
                     "stove", "sled"], verbs=["packed", "repaired", "carried", "dried"],
                     work="led a group up the trail"),
    "theatre": dict(job="actor", places=["theatre", "stage", "dressing room"], objects=["costume", "curtain", "mask",
                    "script", "spotlight"], verbs=["rehearsed with", "mended", "hung", "adjusted"],
                    work="learned a new part"),
    "kitchen": dict(job="cook", places=["restaurant", "kitchen", "cellar"], objects=["pan", "kettle", "knife",
                    "soup pot", "menu"], verbs=["scrubbed", "sharpened", "filled", "polished"],
                    work="cooked for forty guests"),
}

INTRO = ["{full} was a {job} who lived in {city}.", "{full} worked as a {job} in {city}.",
         "In {city} there lived a {job} called {full}."]
INTRODUCE = ["{who} owned {a} {adj} {obj}.", "{Who} found {a} {adj} {obj} in the {place}.",
             "{Who} bought {a} {adj} {obj} at the market.", "There was {a} {adj} {obj} in the {place}."]
INTRODUCE_FRIEND = ["{Who} had a friend called {friend}.", "{Who} met a neighbour called {friend}."]
EVENT = ["{Who} {verb} the {obj} in the {place}.", "{Who} {verb} the {obj} before lunch.",
         "{Who} took the {obj} to the {place}.", "The {obj} was in the {place}, so {who} {verb} it.",
         "{Who} {work}."]
FRIEND_EVENT = ["{friend} helped {whom} with the {obj}.", "{friend} came to the {place} to see the {obj}.",
                "{Who} and {friend} {verb} the {obj} together."]
MARKERS = ["Then", "After that", "Later", "The next morning", "Two days later", "That evening", "Soon"]
ENDING = ["In the end, {who} was happy with the {obj}.", "In the end, {who} kept the {obj} in the {place}.",
          "Finally, {who} went home to {city}.", "In the end, {who} stayed in {city} for good."]
OBJECT_PRONOUN = {"she": "her", "he": "him"}


@dataclass
class Document:
    sentences: list[str]
    entities: dict = field(default_factory=dict)    # person, first, city, theme, objects, friend
    days: list = field(default_factory=list)        # per sentence: the day counter it states, or None


def _a(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _cap(s: str) -> str:
    return s[0].upper() + s[1:]


def _continue(sentence: str) -> str:
    """The sentence after a leading marker: lower-cased unless it opens with a name."""
    return sentence if sentence.split()[0] in FIRST else sentence[0].lower() + sentence[1:]


def make_document(rng: random.Random) -> Document:
    first = rng.choice(sorted(FIRST))
    pron = FIRST[first]
    full = f"{first} {rng.choice(SURNAMES)}"
    city, theme_name = rng.choice(CITIES), rng.choice(sorted(THEMES))
    theme = THEMES[theme_name]
    objects = rng.sample(theme["objects"], rng.choice([2, 3]))
    friend = rng.choice([n for n in sorted(FIRST) if n != first])
    n = rng.randint(6, 12)

    def who(at_start: bool) -> str:        # the person: the first name, a pronoun a third of the time
        w = pron if rng.random() < 1 / 3 else first
        return _cap(w) if at_start else w

    # Plan the middle: each object and the friend are introduced right before their first use.
    middle: list[tuple[str, str | None]] = []
    pending = list(objects)
    while len(middle) < n - 2:
        introduced = [o for o in objects if o not in pending]
        r = rng.random()
        if pending and (not introduced or r < 0.3):
            middle.append(("introduce", pending.pop(0)))
        elif friend not in [x for _, x in middle] and introduced and r < 0.45:
            middle.append(("friend", friend))
        elif friend in [x for _, x in middle] and introduced and r < 0.6:
            middle.append(("friend_event", rng.choice(introduced)))
        elif introduced:
            middle.append(("event", rng.choice(introduced)))
        else:
            middle.append(("introduce", pending.pop(0)))

    sentences = [rng.choice(INTRO).format(full=full, job=theme["job"], city=city)]
    days: list = [None]
    day = 1
    for kind, obj in middle:
        place = rng.choice(theme["places"])
        slots = dict(place=place, obj=obj, friend=friend, verb=rng.choice(theme["verbs"]), work=theme["work"],
                     city=city, whom=OBJECT_PRONOUN[pron])
        if kind == "introduce":
            text = rng.choice(INTRODUCE).format(a=_a(adj := rng.choice(ADJECTIVES)), adj=adj, who=who(False),
                                                Who=who(True), **{k: v for k, v in slots.items() if k != "obj"},
                                                obj=obj)
        elif kind == "friend":
            text = rng.choice(INTRODUCE_FRIEND).format(Who=who(True), friend=friend)
        elif kind == "friend_event":
            text = rng.choice(FRIEND_EVENT).format(Who=who(True), **slots)
        else:
            text = rng.choice(EVENT).format(Who=who(True), who=who(False), **slots)
        stated = None
        r = rng.random()
        if r < 0.3:                                  # a day counter that only grows
            day += rng.choice([0, 1, 1, 2])
            stated = day
            text = f"On day {day}, {_continue(text)}"
        elif r < 0.55:                               # a time marker
            text = f"{rng.choice(MARKERS)}, {_continue(text)}"
        sentences.append(text)
        days.append(stated)
    objects = [o for o in objects if o not in pending]           # those the story introduced
    sentences.append(rng.choice(ENDING).format(who=who(False), obj=rng.choice(objects),
                                               place=rng.choice(theme["places"]), city=city))
    days.append(None)
    entities = dict(person=full, first=first, pronoun=pron, city=city, theme=theme_name, objects=objects,
                    friend=friend)
    return Document(sentences, entities, days)


# ---- the "chain" design: no global position cues, only local ones and a strong topic ------------

ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "kl", "st", "tr", "sh"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ei", "ou"]
CODAS = ["", "", "n", "r", "l", "s", "k", "m"]
THINGS = ["kettle", "lamp", "basket", "blanket", "bottle", "candle", "chair", "clock", "coat", "cup", "drum",
          "fan", "flag", "flute", "glove", "hammer", "hat", "jar", "key", "kite", "ladder", "letter", "map",
          "mirror", "needle", "pan", "pencil", "pillow", "plate", "radio", "ring", "rope", "saddle", "scarf",
          "shell", "shovel", "sock", "spoon", "stool", "suitcase", "table", "teapot", "ticket", "towel", "toy",
          "tray", "trumpet", "umbrella", "vase", "violin", "wallet", "whistle", "bell", "book", "box", "brush",
          "bucket", "button", "camera", "carpet", "coin", "comb", "crown", "feather", "fork", "helmet", "ink pot",
          "jacket", "knife", "lantern", "medal", "mask", "net", "paddle", "parcel", "purse", "sack", "sled",
          "spade", "statue", "tent", "thimble", "wagon", "wheel", "apron", "banner", "bowl", "compass", "globe",
          "hook", "oar", "puppet", "quilt", "rake", "sponge", "stamp", "tile", "trunk"]
# Each sentence refers to the previous sentence's new thing ("the {old}") and introduces one ("{a} {new}").
CHAIN = ["{N} traded the {old} for {a} {new}.", "{N} put the {old} next to {a} {new}.",
         "{N} left the {old} beside {a} {new}.", "{N} wrapped the {old} in {a} {new}.",
         "Under the {old}, {N} found {a} {new}.", "{N} carried the {old} over to {a} {new}.",
         "Near the {old}, {N} noticed {a} {new}.", "{N} found {a} {new} under the {old}.",
         "{N} hid {a} {new} inside the {old}.", "{N} cleaned the {old} and picked up {a} {new}.",
         "{N} set {a} {new} on top of the {old}.", "{N} gave the {old} away and kept {a} {new}.",
         "Behind the {old}, {N} saw {a} {new}.", "{N} tied {a} {new} to the {old}."]


def make_name(rng: random.Random) -> str:
    """A made-up first name (2-3 syllables): thousands of them, so two stories rarely share one."""
    syllables = [rng.choice(ONSETS) + rng.choice(VOWELS) for _ in range(rng.choice([2, 2, 3]))]
    return _cap("".join(syllables) + rng.choice(CODAS))


WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def make_chain_document(rng: random.Random, weekdays: bool = False) -> Document:
    """6-12 sentences of one form: '{name} <does something with> the {previous thing} ... a {new thing}';
    weekdays: each sentence opens with the day after the previous one's ("On Friday, ..."), the first
    drawn at random (a cycle: the day says nothing about the position in the story)."""
    name, n = make_name(rng), rng.randint(6, 12)
    things = rng.sample(THINGS, n + 1)          # things[0]: referred to, never introduced (as in any segment)
    start = rng.randrange(7)
    sentences, days = [], []
    for i in range(n):
        old, new = things[i], things[i + 1]
        text = rng.choice(CHAIN).format(N=name, old=old, new=new, a=_a(new))
        if weekdays:
            days.append(WEEKDAYS[(start + i) % 7])
            text = f"On {days[-1]}, {text if text.startswith(name) else text[0].lower() + text[1:]}"
        sentences.append(text)
    return Document(sentences, dict(person=name, first=name, things=things), days or [None] * n)


DESIGNS = {"stories": make_document, "chain": make_chain_document,
           "weekdays": lambda rng: make_chain_document(rng, weekdays=True)}


def generate_documents(seed: int = 0, n: int = 3000, design: str = "stories") -> list[Document]:
    """n documents of a design (DESIGNS), a pure function of (seed, n, design)."""
    make = DESIGNS[design]
    rng = random.Random(f"table5-documents-{seed}" if design == "stories" else f"table5-{design}-{seed}")
    return [make(rng) for _ in range(n)]


def corpus_text(documents: list[Document]) -> str:
    """A sentence per line, a blank line between documents (the pretraining corpus format)."""
    return "\n\n".join("\n".join(d.sentences) for d in documents) + "\n"


def write_corpus(path: str | Path, seed: int = 0, n: int = 3000, design: str = "stories") -> Path:
    return atomic_write_text(path, corpus_text(generate_documents(seed, n, design)))
