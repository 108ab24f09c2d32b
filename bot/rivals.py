"""Rival names: "How much has Jilin invested?" must not be answered by "Liaoning has invested 2 billion".

Why: an extractive bot finds the sentence that matches the question best, and a sentence about a
*sibling* of the asked-about name (another province of the same list, another company of the same
kind) matches nearly as well as the real answer — the words are the same, only the name differs.
Dense and lexical scores cannot see that; this module can, from the article alone: two names are
siblings when the article lists them together ("Liaoning, Jilin and Heilongjiang") or gives them the
same head word ("Liaoning province", "Jilin province"). A best sentence that names a sibling of the
question's name and not the name itself is about something else, and confidence drops (bot/answer.py).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from .lexical import term_positions, terms

# Fused-score points taken from a sentence that names the asked name only inside a list of its siblings
# (``listed_only``). Measured on the SQuAD v1.1 sample (bench/listed_penalty.py): 0.25-0.5 are neutral
# to +0.001 answer-sentence@1; 2.0 costs 0.004. Half the lowest fused gap that decides a question.
LISTED_PENALTY = 0.5

_NAME = r"[A-Z][\w'’&-]*(?:\s[A-Z][\w'’&-]*)*"
# "A, B and C", "A and B", "A or B": names side by side in a list
_LIST = re.compile(rf"({_NAME})((?:,\s{_NAME})*),?\s(?:and|or)\s({_NAME})")
# "Liaoning province", "FAW Group": a name and the common noun that classifies it
_HEADED = re.compile(rf"({_NAME})\s(province|provinces|city|county|state|region|district|river|island|"
                     r"Co|Corp|Company|Group|Ltd|Inc|University|Bank|Party|Ministry)\b")
_SKIP = frozenset(terms("The A An This That These Those It In On At For By From With As But And Or If When While "
                        "China Chinese"))  # too common to tell siblings apart


def _key(name: str) -> str | None:
    """A name's identifying term: its last stemmed term that is not a generic word."""
    found = [t for t in terms(name) if t not in _SKIP]
    return found[-1] if found else None


def sibling_map(texts: Iterable[str]) -> dict[str, frozenset[str]]:
    """For each name term of the article, the other name terms it is listed or classified with."""
    groups: list[set[str]] = []
    heads: dict[str, set[str]] = defaultdict(set)
    for text in texts:
        for _, _, group in _lists(text):
            if len(group) > 1:
                groups.append(set(group))
        for m in _HEADED.finditer(text):
            key = _key(m.group(1))
            if key:
                heads[m.group(2).lower().rstrip("s")].add(key)
    groups.extend(g for g in heads.values() if len(g) > 1)
    out: dict[str, set[str]] = defaultdict(set)
    for group in groups:
        for key in group:
            out[key] |= group - {key}
    return {k: frozenset(v) for k, v in out.items()}


def rivalled(entities: Sequence[str], text: str, siblings: dict[str, frozenset[str]]) -> bool:
    """True when the sentence names a sibling of one of the question's names but not that name, and
    no pronoun in it can point back to the name from an earlier sentence ("Edison hired him" may well
    be about Tesla; "Liaoning has invested … in its …" is about Liaoning)."""
    if not any(siblings.get(e) for e in entities):  # most names have no sibling: nothing can be a rival
        return False
    positions = term_positions(text)
    own = {t for _, t in positions}
    rivals = [start for start, t in positions if text[start].isupper()  # a name, not "electric"
              and any(e not in own and t in siblings.get(e, ()) for e in entities)]
    if not rivals:
        return False
    first = min(rivals)
    for m in _PRONOUN.finditer(text):
        word = m.group(0).lower()
        # he/she/they: subjects that refer outwards; him/them cannot be their own clause's subject;
        # it and possessives refer outwards when they come before the rival name
        if word in _OUTWARD or m.start() < first:
            return False
    return True


_PRONOUN = re.compile(r"\b(?:he|she|they|him|them|it|his|her|its|their)\b", re.IGNORECASE)
_OUTWARD = frozenset(("he", "she", "they", "him", "them"))


def listed_only(entities: Iterable[str], text: str, siblings: dict[str, frozenset[str]]) -> bool:
    """True when the question's names that have siblings occur in the sentence only as members of a
    list with those siblings ("Liaoning, Jilin and Heilongjiang have been driving ..."). Such a
    sentence says what the group shares; a question that singles one member out ("What is Jilin
    doing ...?") is better answered by a sentence about that member alone, when there is one."""
    asked = [e for e in entities if siblings.get(e)]
    if not asked:
        return False
    lists = _lists(text)
    if not lists:  # most sentences: no list, so nothing is listed only (and no stemming is paid for)
        return False
    found = False
    for start, term in term_positions(text):
        if term not in asked:
            continue
        found = True
        if not any(a <= start < b and members & siblings[term] for a, b, members in lists):
            return False
    return found


@functools.lru_cache(maxsize=4096)
def _lists(text: str) -> tuple[tuple[int, int, frozenset[str]], ...]:
    """(start, end, member keys) of each list of names in a sentence. Kept per sentence text: every
    question naming a name with siblings checks all its hits, and the same sentences recur."""
    return tuple((m.start(), m.end(), frozenset(filter(None, map(_key, _members(m))))) for m in _LIST.finditer(text))


def _members(m: re.Match) -> list[str]:
    return [m.group(1), *[n for n in re.split(r",\s", m.group(2)) if n], m.group(3)]


def demote_listed(hits: Sequence, entities: Sequence[str], text_of: Callable[[int], str],
                  siblings: dict[str, frozenset[str]], penalty: float = LISTED_PENALTY) -> list:
    """``hits`` (retrieval's, best first) re-ranked with ``penalty`` off the score of every sentence that
    is ``listed_only`` for the question's names; ``text_of`` gives a hit's sentence text by global id."""
    if not entities or not any(siblings.get(e) for e in entities):
        return list(hits)
    scored = [dataclasses.replace(h, score=h.score - penalty) if listed_only(entities, text_of(h.sentence), siblings)
              else h for h in hits]
    return sorted(scored, key=lambda h: -h.score)  # stable: ties keep retrieval's order
