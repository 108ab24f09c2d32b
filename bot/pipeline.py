"""Wires the stages once: open or build the index, hand out answers. Every face calls this.

Knows nothing of screens, chats or scoring; raises articlebot's own errors for bad input.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Sequence

from .answer import Answer, compose, more_answer
from .conversation import Conversation, Turn
from .corpus import Article
from .embedding import Encoder, shared_encoder
from .errors import BadQuestion
from .lexical import entity_terms
from .retrieval import Query, Retriever
from .settings import Settings
from .store import CorpusIndex, Report, open_index

log = logging.getLogger(__name__)
RANK_DEPTH = 20  # hits kept per question: the answer uses the top few, /more pages through the rest


def clean_question(question: str, max_chars: int) -> str:
    """Refuse empty or over-long questions; drop control characters and collapse white space."""
    if not isinstance(question, str):
        raise BadQuestion("the question must be text")
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in question)
    text = " ".join(text.split())
    if not text:
        raise BadQuestion("the question is empty: type a question about the article")
    if len(text) > max_chars:
        raise BadQuestion(f"the question is too long ({len(text):,} characters; the limit is {max_chars:,})")
    return text


class Pipeline:
    """The question-answering core over one corpus index."""

    def __init__(self, settings: Settings, index: CorpusIndex, encoder: Encoder) -> None:
        self.settings = settings
        self.index = index
        self.retriever = Retriever(index, encoder)
        self.articles: dict[str, Article] = {a.id: a for a in index.articles}
        self._vocab = [frozenset().union(*(self.retriever.sentence_terms[g] for g in range(start, start + len(a.sentences))))
                       for a, start in zip(index.articles, index.article_offset)]

    @classmethod
    def open(cls, settings: Settings, report: Report | None = None,
             warn: Callable[[str], None] = log.warning, encoder: Encoder | None = None,
             force: bool = False) -> Pipeline:
        """Open (building if needed, or always with ``force``) the index of ``settings.corpus_dir``."""
        encoder = encoder or shared_encoder()
        index = open_index(settings.corpus_dir, settings.index_dir, encoder, settings.chunk_tokens,
                           settings.chunk_overlap, report=report, warn=warn, force=force)
        return cls(settings, index, encoder)

    def new_conversation(self) -> Conversation:
        return Conversation(self.settings.history_turns, self.settings.history_idle_seconds)

    # ------------------------------------------------------------ answering
    def answer(self, question: str, conversation: Conversation | None = None) -> Answer:
        """Answer one question (in ``conversation``'s context when given)."""
        return self.answer_many([question], [conversation])[0]

    def answer_many(self, questions: Sequence[str], conversations: Sequence[Conversation | None]) -> list[Answer]:
        """Answer several questions with one batched embedding call (chats answered together)."""
        cleaned = [clean_question(q, self.settings.max_question_chars) for q in questions]
        resolved = []
        for text, conversation in zip(cleaned, conversations):
            if conversation is not None:
                conversation.expire()
                resolved.append(conversation.resolve(text))
            else:
                resolved.append(text)
        queries = self.retriever.prepare(resolved)
        answers = []
        for text, query, conversation in zip(cleaned, queries, conversations):
            hits = self.retriever.rank(query, RANK_DEPTH)
            answer = compose(text, query.text, query, hits, self.articles, self.missing(query, hits),
                             self.settings.abstain_threshold, self.settings.top_k)
            if conversation is not None:
                conversation.record(Turn(text, query.text, hits, len(answer.citations) or 0))
            answers.append(answer)
        return answers

    def more(self, conversation: Conversation) -> Answer:
        """The next-best evidence for the conversation's last question."""
        turn = conversation.last
        if turn is None:
            raise BadQuestion("there is no earlier question to say more about; ask one first")
        page = turn.hits[turn.shown: turn.shown + self.settings.top_k]
        turn.shown += len(page)
        return more_answer(turn.question, turn.resolved, page, self.articles)

    def missing(self, query: Query, hits) -> float:
        """Share of the question's names and numbers found nowhere in the best hit's article: a question
        about Shanghai put to an article that never mentions Shanghai is not answered by it."""
        if not hits:
            return 0.0
        names = entity_terms(query.text)
        if not names:
            return 0.0
        vocab = self._vocab[self.retriever.index._article_index(hits[0].article_id)]
        return sum(t not in vocab for t in names) / len(names)
