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

import re
from collections import defaultdict
from collections.abc import Iterable

from .lexical import term_positions, terms

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
        for m in _LIST.finditer(text):
            names = [m.group(1), *[n for n in re.split(r",\s", m.group(2)) if n], m.group(3)]
            group = {k for k in map(_key, names) if k}
            if len(group) > 1:
                groups.append(group)
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


def rivalled(entities: Iterable[str], text: str, siblings: dict[str, frozenset[str]]) -> bool:
    """True when the sentence names a sibling of one of the question's names but not that name, and
    no pronoun in it can point back to the name from an earlier sentence ("Edison hired him" may well
    be about Tesla; "Liaoning has invested … in its …" is about Liaoning)."""
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
