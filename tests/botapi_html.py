"""Bot API HTML as Telegram parses it: the tags it allows, balanced, with ``<``, ``>`` and ``&`` escaped.

The loopback server refuses what Telegram would refuse (a 400 "can't parse entities"), so a test can
only pass if the bot's HTML would be accepted by the real Bot API.
"""

from __future__ import annotations

import html
import re

_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "tg-emoji", "code",
         "pre", "blockquote"}
_MARKUP = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:=\"[^\"<>]*\"|='[^'<>]*'|=[^\s<>]+)?)*)\s*>"
                     r"|&(#[0-9]+|#x[0-9a-fA-F]+|lt|gt|amp|quot);|[<>&]")


class HTMLEntityError(ValueError):
    """Text that Telegram would refuse with "Bad Request: can't parse entities"."""


def html_to_text(text: str) -> str:
    """Validate Bot API HTML like Telegram does and return the plain text the user would see."""
    out: list[str] = []
    stack: list[str] = []
    position = 0
    for match in _MARKUP.finditer(text):
        out.append(text[position:match.start()])
        position = match.end()
        closing, tag, entity = match.group(1), match.group(2), match.group(4)
        if tag is not None:
            tag = tag.lower()
            if tag not in _TAGS:
                raise HTMLEntityError(f"Unsupported start tag \"{tag}\" at byte offset {match.start()}")
            if closing:
                if not stack or stack[-1] != tag:
                    raise HTMLEntityError(f"Unexpected end tag at byte offset {match.start()}")
                stack.pop()
            else:
                stack.append(tag)
        elif entity is not None:
            out.append(html.unescape(match.group(0)))
        else:
            raise HTMLEntityError(f"character {match.group(0)!r} at offset {match.start()} must be escaped")
    if stack:
        raise HTMLEntityError(f"Can't find end tag corresponding to start tag \"{stack[-1]}\"")
    out.append(text[position:])
    return "".join(out)
