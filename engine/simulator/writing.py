"""Deterministic prose for simulated answers: built from the prompt's words and a bank of sentence shapes.

Also splits text into API-sized chunks (a few characters to a word), the unit of a streamed token.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

CHUNK_PATTERN = re.compile(r"\n+|[ \t]*(?:[A-Za-z]{1,9}|[0-9]{1,3}|[^\sA-Za-z0-9]{1,3})|\s")
WORD_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{2,}")
# Sentence-like stretches of a prompt; a key phrase never spans two of them.
CLAUSE_BREAK = re.compile(r"[.!?](?=\s|$)|[;:,()\[\]{}\"`\n]+")
PHRASE_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_'\-]*|\S")
MAX_PHRASE_WORDS = 2

# Common words that say nothing about a prompt's topic.
STOPWORD_TEXT = """
    the and for are but not you all any can had her was one our out has him his how its may new now old
    see two who did get let put say she too use that with have this will your from they know want been
    good much some time very when come here just like long make many more only over such take than them
    well were what which their there these those then into about would could should also each other
    after before being because where while please write explain describe tell give show create make
    using used need needs want wants help answer question short brief detail details following below
    above thing things something anything everything does doing done into onto your yours mine ours
    makes made feel feels work works keep keeps find finds try tries seem seems look looks mean means
    really quite just still even ever never always often sure able based within without across between
    simple easy hard best better most least lot lots kind sort way ways why should shall might must
"""
STOPWORDS = frozenset(STOPWORD_TEXT.split())
FALLBACK_WORDS = ("request", "design", "approach", "result")

OPENINGS = (
    "Here is a clear way to think about {topic}.",
    "Good question: {topic} comes down to a few ideas that fit together.",
    "Below is a practical overview of {topic}.",
    "Let's look at {topic} step by step.",
)
SENTENCES = (
    "The heart of {a} is how it relates to {b}.",
    "Start with {a}, because everything about {b} builds on it.",
    "In practice, {a} matters most when {b} changes often.",
    "A common mistake is to treat {a} and {b} as the same thing.",
    "Keep {a} small and explicit, so {b} stays easy to reason about.",
    "When {a} grows, measure it before changing {b}.",
    "The trade-off is simple: more {a} usually means less {b}.",
    "Most of the time, {a} is the part worth getting right first.",
    "Think of {a} as the contract and {b} as the detail behind it.",
    "If {a} fails, {b} should fail loudly rather than silently.",
    "A small example of {a} makes {b} much easier to see.",
    "Writing down what {a} expects saves time when {b} goes wrong.",
    "Good {a} is boring: predictable, tested and documented.",
    "The details of {b} can wait until {a} works end to end.",
    "Treat {b} as a consequence of {a}, not as a separate goal.",
    "Checking {a} early keeps surprises about {b} rare.",
)
BULLETS = (
    "**{A}**: what it is and why it matters for {b}.",
    "**{A}**: keep it simple and measurable.",
    "**{A}**: the usual source of trouble with {b}.",
    "**{A}**: worth a test of its own.",
    "**{A}**: decide it once and write it down.",
    "**{A}**: revisit it when {b} changes.",
)
LIST_INTROS = ("Key points:", "In short:", "What to keep in mind:", "A quick checklist:")
CLOSINGS = (
    "That should give you a solid start on {topic}.",
    "If you share more about your case, I can go deeper on {a}.",
    "Together these cover the essentials of {topic}.",
)
THOUGHTS = (
    "The user is asking about {topic}.",
    "I should explain {a} first and then connect it to {b}.",
    "A heading, a short explanation and a list will make this easy to read.",
    "Let me check how {a} relates to {b} before answering.",
    "An example would help show {a} in practice.",
    "I want to keep the answer focused on what they asked.",
)


def split_into_chunks(text: str) -> list[str]:
    """Pieces of a few characters to a word whose concatenation is exactly `text`."""
    return CHUNK_PATTERN.findall(text)


def keywords(text: str) -> list[str]:
    """The prompt's content words, lowercased, first occurrence order."""
    seen: dict[str, None] = {}
    for word in WORD_PATTERN.findall(text):
        lowered = word.lower()
        if lowered not in STOPWORDS:
            seen.setdefault(lowered, None)
    return list(seen) or list(FALLBACK_WORDS)


def key_phrases(text: str) -> list[str]:
    """Runs of up to two adjacent content words ("token streaming", "workflow runner"), first seen first.

    A capitalised word keeps its case (a name, like "Claude") unless it only starts the clause.
    """
    seen: dict[str, str] = {}
    for clause in CLAUSE_BREAK.split(text):
        run: list[str] = []
        for position, token in enumerate([*PHRASE_TOKEN.findall(clause), ""]):
            if len(token) >= 3 and token[0].isalpha() and token.lower() not in STOPWORDS:
                run.append(token.lower() if position == 0 or token.isupper() else token)
                continue
            for start in range(0, len(run), MAX_PHRASE_WORDS):
                phrase = " ".join(run[start : start + MAX_PHRASE_WORDS])
                seen.setdefault(phrase.lower(), phrase)
            run = []
    return list(seen.values()) or list(FALLBACK_WORDS)


class Writer:
    """Writes paragraphs about a prompt, seeded so the same prompt and seed give the same text."""

    def __init__(self, prompt: str, rng: random.Random) -> None:
        self.words = key_phrases(prompt)
        self.topic = self.words[0]
        self.rng = rng

    def _fill(self, shape: str, subject: str | None = None) -> str:
        a, b = self.rng.sample(self.words, 2) if len(self.words) >= 2 else (self.words[0], "the rest")
        if subject is not None:
            a = subject
            b = b if b != subject else "the rest"
        return shape.format(topic=self.topic, a=a, b=b, A=a[0].upper() + a[1:])

    def _paragraph(self, sentences: int) -> str:
        return " ".join(self._fill(self.rng.choice(SENTENCES)) for _ in range(sentences))

    def answer_sections(self) -> Iterator[str]:
        """Endless markdown sections: a heading and opening first, then lists and paragraphs."""
        yield f"## {self.topic[0].upper() + self.topic[1:]}\n\n{self._fill(self.rng.choice(OPENINGS))} "
        yield self._paragraph(1) + "\n\n"
        section = 0
        while True:
            if section:
                heading = self.rng.choice(self.words)
                yield f"### {heading[0].upper() + heading[1:]}\n\n"
                yield self._paragraph(self.rng.randint(1, 2)) + "\n\n"
            subjects = self.rng.sample(self.words, min(len(self.words), self.rng.randint(3, 5)))
            bullets = [self._fill(self.rng.choice(BULLETS), subject) for subject in subjects]
            yield self.rng.choice(LIST_INTROS) + "\n\n" + "".join(f"- {b}\n" for b in bullets) + "\n"
            yield self._paragraph(self.rng.randint(2, 3)) + "\n\n"
            section += 1

    def closing(self) -> str:
        return self._fill(self.rng.choice(CLOSINGS))

    def thoughts(self) -> Iterator[str]:
        while True:
            yield self._fill(self.rng.choice(THOUGHTS)) + " "


def write_chunks(pieces: Iterator[str], target: int) -> list[str]:
    """Chunks of pieces taken until at least `target` chunks exist (whole pieces, no cut)."""
    chunks: list[str] = []
    while len(chunks) < target:
        chunks.extend(split_into_chunks(next(pieces)))
    return chunks


def answer_chunks(writer: Writer, target: int | None) -> list[str]:
    """An answer of exactly `target` chunks, or (target None) a natural length of about 60-300 chunks."""
    if target is not None:
        return write_chunks(writer.answer_sections(), target)[:target]
    natural = writer.rng.randint(60, 300)
    chunks = write_chunks(writer.answer_sections(), natural)
    return chunks + split_into_chunks(writer.closing())
