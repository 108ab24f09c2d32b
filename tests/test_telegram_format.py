"""Telegram HTML: escaping, citations, and splitting long replies between (never inside) tags."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answer import Answer, Citation
from bot.telegram_format import (MAX_MESSAGE, Unit, answer_messages, example_questions, greeting_messages, pack,
                                 utf16_len)
from botapi_server import html_to_text


def _answer(texts: list[str], highlight=None, more=False, question="q?", resolved="q?") -> Answer:
    cites = tuple(Citation("A & B <news>", "a", i + 1, t, 0, len(t), 1.0) for i, t in enumerate(texts))
    return Answer(question, resolved, " ".join(texts), texts[0][highlight[0]:highlight[1]] if highlight else None,
                  False, 0.9, cites, highlight, more)


def test_answer_is_escaped_bold_and_quoted_with_its_citation():
    sentence = "Profits at Smith & Sons rose to <b>12 million</b> & costs fell."
    [message] = answer_messages(_answer([sentence], highlight=(32, 49)))
    plain = html_to_text(message)  # raises on anything Telegram would refuse
    assert "Answer: <b>12 million</b>" in plain  # the article's own "<b>" shows as text, not as bold
    assert sentence in plain and "\u2014 A & B <news>, sentence 1" in plain
    assert "<blockquote>Profits at Smith &amp; Sons rose to <b>&lt;b&gt;12 million&lt;/b&gt;</b>" in message


def test_follow_up_and_more_show_the_question_escaped():
    [message] = answer_messages(_answer(["One."], more=True, question="And <x> & y?", resolved="Q <x> & y?"))
    plain = html_to_text(message)
    assert "More evidence for \u201cAnd <x> & y?\u201d" in plain and "(searched for: Q <x> & y?)" in plain


def test_long_reply_is_split_between_sentences():
    sentences = [f"Sentence {i} says " + "many things & more " * 90 + "." for i in range(4)]  # ~1,750 chars each
    messages = answer_messages(_answer(sentences))
    assert len(messages) >= 2
    for message in messages:
        assert utf16_len(message) <= MAX_MESSAGE
        html_to_text(message)
    plains = [html_to_text(m) for m in messages]
    for sentence in sentences:  # every sentence whole, in exactly one message
        assert sum(sentence in p for p in plains) == 1


def test_one_enormous_sentence_is_cut_at_spaces_with_the_highlight_kept():
    words = [f"w{i}&<" for i in range(2500)]
    sentence = " ".join(words) + "."
    start = sentence.index("w1200&<")
    messages = answer_messages(_answer([sentence], highlight=(start, start + 30)))
    assert len(messages) >= 3
    plains = [html_to_text(m) for m in messages]  # every part valid HTML on its own
    assert all(utf16_len(m) <= MAX_MESSAGE for m in messages)
    seen = " ".join(p.split("\n", 1)[-1] if p.startswith("Answer:") else p for p in plains)
    assert all(word in seen.split() for word in words[::97])
    # bold twice: the short answer line and the span inside the quote (tags opened and closed per part)
    assert sum(m.count("<b>w1200&amp;&lt;") for m in messages) == 2
    assert sum(m.count("Answer: <b>") for m in messages) == 1


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab <&>.\u00e9\U0001F600 \n"), min_size=1, max_size=600),
       st.integers(60, 200), st.tuples(st.integers(0, 600), st.integers(0, 600)))
def test_any_text_splits_into_valid_parts_within_the_limit(text, limit, span):
    start, end = sorted(span)
    start, end = min(start, len(text)), min(end, len(text))
    unit = Unit(text, "blockquote", (start, end) if start < end else None, prefix="<b>x</b> ", suffix="\n<i>t</i>")
    messages = pack([unit], limit)
    for message in messages:
        assert utf16_len(message) <= limit
        html_to_text(message)
    kept = "".join(html_to_text(m) for m in messages)
    assert "".join(text.split()) in "".join(kept.split())


def test_greeting_names_the_article_and_examples_come_from_it(pipeline):
    articles = list(pipeline.articles.values())
    [message] = greeting_messages(articles)
    plain = html_to_text(message)
    assert all(a.title in plain for a in articles) and "/more" in plain
    examples = example_questions(articles)
    assert examples and all(q in plain for q in examples)
    text = " ".join(a.text for a in articles)
    assert all(q.removeprefix("What does the article say about ").rstrip("?") in text for q in examples)
