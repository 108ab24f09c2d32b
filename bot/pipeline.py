"""Wires the stages once: open or build the index, hand out answers. Every face calls this.

Knows nothing of screens, chats or scoring; raises articlebot's own errors for bad input.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

from .answer import Answer, answer_first, compose, more_answer
from .conversation import Conversation, Resolution, Turn
from .corpus import Article
from .embedding import Encoder, shared_encoder
from .errors import BadQuestion
from .lexical import LazyRows
from .retrieval import Hit, Query, Retriever
from .rivals import demote_listed, rivalled, sibling_map
from .settings import Settings
from .store import CorpusIndex, Report, open_index
from .syntax import SyntaxMatrix, sentence_syntax
from .threads import single_threaded_blas
from .token_match import TokenMatrix, sentence_tokens

log = logging.getLogger(__name__)
# terminal sequences pasted with a question: colour/cursor (ESC [ ... letter) and window-title ones
# (ESC ] ... BEL or ESC \): their digits and words are not the question's
ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?)")
RANK_DEPTH = 20  # hits kept per question: the answer uses the top few, /more pages through the rest


def clean_question(question: str, max_chars: int) -> str:
    """Refuse empty or over-long questions; drop control characters and collapse white space."""
    if not isinstance(question, str):
        raise BadQuestion("the question must be text")
    text = question
    if not text.isprintable():  # C-level check; the per-character pass only for text that needs it
        text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in ANSI_ESCAPE.sub(" ", text))
    if "\ufffd" in text:  # bytes that were not UTF-8 (decoded with errors="replace") say nothing
        text = text.replace("\ufffd", " ")
    text = " ".join(text.split())
    if not text:
        raise BadQuestion("the question is empty: type a question about the article")
    if len(text) > max_chars:
        raise BadQuestion(f"the question is too long ({len(text):,} characters; the limit is {max_chars:,})")
    return text


def derive(encoder: Encoder, index: CorpusIndex, folder: Path | None, previous: Path | None = None,
           building: bool = False) -> tuple[TokenMatrix | None, SyntaxMatrix | None]:
    """The sentences' token vectors (MaxSim) and parses, kept in the index's data ``folder``: a build
    computes them into its new folder before publishing it (bot/store.py; ``building``: failing to save
    them fails the build), taking the rows of sentences the replaced index's folder ``previous`` has
    (bot/row_reuse.py); None keeps them in memory."""
    return (sentence_tokens(index, encoder, folder, previous, strict=building),
            sentence_syntax(index, folder, previous, strict=building))


class Pipeline:
    """The question-answering core over one corpus index."""

    def __init__(self, settings: Settings, index: CorpusIndex, encoder: Encoder,
                 derived: tuple[TokenMatrix | None, SyntaxMatrix | None] | None = None) -> None:
        """``derived``: the sentences' token vectors and parses, as :func:`derive` gives them; None
        computes them in memory (evaluation corpora)."""
        single_threaded_blas()  # a question's products are tiny: waking BLAS threads costs more (bot/threads.py)
        self.settings = settings
        self.index = index
        tokens, self.syntax = derived if derived is not None else derive(encoder, index, None)
        self.retriever = Retriever(index, encoder, tokens=tokens)
        self.articles: dict[str, Article] = {a.id: a for a in index.articles}
        ends = index.article_offset + [len(a.sentences) for a in index.articles]  # each article's terms, on first use
        self._vocab = LazyRows(len(index.articles), lambda a: self.retriever.lexical.terms_in(
            int(index.article_offset[a]), int(ends[a])))
        self._siblings = LazyRows(len(index.articles), lambda a: sibling_map(s.text for s in index.articles[a].sentences))

    @classmethod
    def open(cls, settings: Settings, report: Report | None = None,
             warn: Callable[[str], None] = log.warning, encoder: Encoder | None = None,
             force: bool = False) -> Pipeline:
        """Open (building if needed, or always with ``force``) the index of ``settings.corpus_dir``."""
        encoder = encoder or shared_encoder()
        index = open_index(settings.corpus_dir, settings.index_dir, encoder, settings.chunk_tokens,
                           settings.chunk_overlap, report=report, warn=warn, force=force,
                           derive=functools.partial(derive, encoder))
        return cls(settings, index, encoder, index.derived)

    def new_conversation(self) -> Conversation:
        return Conversation(self.settings.history_turns, self.settings.history_idle_seconds)

    # ------------------------------------------------------------ answering
    def answer(self, question: str, conversation: Conversation | None = None) -> Answer:
        """Answer one question (in ``conversation``'s context when given)."""
        return self.answer_many([question], [conversation])[0]

    def answer_many(self, questions: Sequence[str], conversations: Sequence[Conversation | None]) -> list[Answer]:
        """Answer several questions with one batched embedding call (chats answered together)."""
        return [answer for answer, _ in self.answer_many_ranked(questions, conversations)]

    def answer_many_ranked(self, questions: Sequence[str], conversations: Sequence[Conversation | None]
                           ) -> list[tuple[Answer, list[Hit]]]:
        """:meth:`answer_many` plus the ranking each answer came from (the evaluation runner scores
        the gold sentence's rank in it, so it need not search a second time)."""
        cleaned = [clean_question(q, self.settings.max_question_chars) for q in questions]
        resolutions = []
        for text, conversation in zip(cleaned, conversations):
            if conversation is None:
                resolutions.append(Resolution(text, text, "self", ((text, 1.0),)))
            else:
                conversation.expire()
                resolutions.append(conversation.resolve(text))
        texts = [q for r in resolutions if r.mode != "more" for q, _ in r.queries]
        prepared = iter(self.retriever.prepare(texts) if texts else [])
        answers = []
        for resolution, conversation in zip(resolutions, conversations):
            if resolution.mode == "more":
                answers.append((self.more(conversation, resolution.question), list(conversation.last.hits)))
                continue
            queries = [(next(prepared), weight) for _, weight in resolution.queries]
            query = queries[0][0]
            hits = self.focused(query, self.retriever.rank_fused(queries, RANK_DEPTH))
            reordered: list[list[Hit]] = []
            seen: dict[int, list] = {}  # the extractor's candidates per sentence, found while choosing

            def choose(ranked: list[Hit]) -> list[Hit]:  # called within this iteration, for an answer given
                reordered.append(answer_first(ranked, query, self._text_of, self.retriever.tokens, self.syntax,
                                              seen))
                return reordered[-1]

            answer = compose(resolution.question, resolution.resolved, query, hits, self.articles,
                             self.missing(query, hits), self.settings.abstain_threshold, self.settings.top_k,
                             rival=self.rival(query, hits), tokens=self.retriever.tokens, syntax=self.syntax,
                             choose=choose, scored=seen, siblings=self._siblings_of)
            hits = reordered[0] if reordered else hits  # the cited sentence first, as the answer has it
            if conversation is not None:
                shown = {h.sentence for h in hits[:len(answer.citations)]}
                conversation.record(Turn(resolution.question, resolution.resolved, hits, len(answer.citations),
                                         answer.short_answer, query.kind, tuple(c.text for c in answer.citations),
                                         shown_ids=shown))
            answers.append((answer, hits))
        return answers

    def more(self, conversation: Conversation, question: str | None = None) -> Answer:
        """Next-best evidence for the last question: the sentence after the last answer first (its
        neighbourhood), then the next hits of its ranking not shown yet."""
        turn = conversation.last
        if turn is None:
            raise BadQuestion("there is no earlier question to say more about; ask one first")
        page: list[Hit] = []
        context: frozenset[int] = frozenset()
        if turn.hits and turn.shown_ids:
            follower = self.retriever.neighbour(turn.hits[0].sentence, +1)
            if follower is not None and follower.sentence not in turn.shown_ids:
                page.append(follower)
                context = frozenset({follower.sentence})
        for hit in turn.hits:
            if len(page) >= self.settings.top_k:
                break
            if hit.sentence not in turn.shown_ids and all(hit.sentence != p.sentence for p in page):
                page.append(hit)
        turn.shown_ids.update(h.sentence for h in page)
        turn.shown += len(page)
        return more_answer(question or turn.question, turn.resolved, page, self.articles, context)

    def missing(self, query: Query, hits) -> float:
        """Share of the question's names and numbers found nowhere in the best hit's article: a question
        about Shanghai put to an article that never mentions Shanghai is not answered by it."""
        if not hits:
            return 0.0
        names = query.entities
        if not names:
            return 0.0
        vocab = self._vocab[self._top_article(hits)]
        return sum(t not in vocab for t in names) / len(names)

    def _top_article(self, hits: Sequence[Hit]) -> int:
        """Index of the best hit's article (whose vocabulary and sibling names the checks below use)."""
        return self.retriever.index._article_index(hits[0].article_id)

    def focused(self, query: Query, hits: list[Hit]) -> list[Hit]:
        """Sentences naming the asked name only in a list of its siblings move down: "What is Jilin
        doing?" is better answered by a sentence about Jilin than by one listing three provinces
        (bot/rivals.py; measured in docs/quality.md)."""
        if not hits or not query.entities:
            return hits
        siblings = self._siblings[self._top_article(hits)]
        return demote_listed(hits, query.entities, lambda g: self.retriever.index.sentence(g)[1].text, siblings)

    def _siblings_of(self, article_id: str) -> dict[str, frozenset[str]]:
        return self._siblings[self.index._article_index(article_id)]

    def _text_of(self, hit: Hit) -> str:
        return self.articles[hit.article_id].sentences[hit.index].text

    def rival(self, query: Query, hits) -> float:
        """1 when the best sentence names a sibling of the question's name and not the name itself
        (asked about Jilin, it speaks of Liaoning; see bot/rivals.py), else 0."""
        if not hits or not query.entities:
            return 0.0
        siblings = self._siblings[self._top_article(hits)]
        return float(rivalled(query.entities, self.retriever.index.sentence(hits[0].sentence)[1].text, siblings))
