"""Follow-up questions without a language model.

"Og hva med jernbane?" or "Når kom den?" mean little alone. When a question looks like a
follow-up (it is short, starts like a continuation, leans on a pronoun, or names one
thing in the definite form: "Hva er målene?"), the content words of the previous question
are added to what is searched for. The user's own words
still come first, so the new topic ("jernbane") weighs most.
"""

from __future__ import annotations

import re

from .lexical import words

#: Openings that continue the previous question ("Og …", "Hva med …", "Men …").
CONTINUATIONS = ("og ", "men ", "hva med ", "kva med ", "hva så med ", "enn ", "også ", "what about ", "and ")
#: Pronouns and vague words that point back to something said before.
BACK_REFERENCES = frozenset(
    "den det de dei dette denne disse dem deres dens dets han hun ho hennes hans "
    "der dit da då samme slik sånn it they them this that".split()
)
#: Question words that should not be carried over into the next search.
QUESTION_WORDS = frozenset(
    "hva hvem hvor hvordan hvorfor hvilke hvilken hvilket når kva kven kvar korleis kvifor "
    "kor kva slags what who where when why how which er var ble blir har kan skal vil gjør "
    "gjorde om i på av for til med fra og den det de en et ei mange mye".split()
)
MAX_FOLLOW_UP_WORDS = 7
#: "Hva er målene?", "Hvem er lederen?": a short question whose one content word is a
#: noun in the definite form points to something already talked about. Up to this many
#: words; a capitalised word ("Hva er Osloregionen?") is a name and stands alone.
MAX_DEFINITE_FOLLOW_UP_WORDS = 4
_DEFINITE = re.compile(r"\w{3,}(en|et|ene|ane|na|a)$")


def is_follow_up(question: str) -> bool:
    text = question.strip().lower()
    tokens = words(text)
    if not tokens or len(tokens) > MAX_FOLLOW_UP_WORDS:
        return False
    if text.startswith(CONTINUATIONS):
        return True
    if any(token in BACK_REFERENCES for token in tokens):
        return True
    content = content_words(text)
    if len(tokens) > MAX_DEFINITE_FOLLOW_UP_WORDS or len(content) != 1:
        return False
    written = re.findall(r"\w+", question)[1:]  # as typed, after the first word
    is_name = any(w[0].isupper() and w.lower() == content[0] for w in written)
    return _DEFINITE.fullmatch(content[0]) is not None and not is_name


def content_words(question: str) -> list[str]:
    return [w for w in words(question) if w not in QUESTION_WORDS and len(w) > 1]


def contextualize(question: str, previous: str | None) -> str:
    """The text to search for: the question, plus the previous topic if it is a follow-up."""
    if not previous or not is_follow_up(question):
        return question
    asked = set(words(question))
    carried = [w for w in content_words(previous) if w not in asked]
    if not carried:
        return question
    return f"{question.strip()} ({' '.join(carried)})"
