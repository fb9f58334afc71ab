"""Finding the knowledge entries that answer a customer's question: a BM25 index over each
entry's title and text, with stemmed, stopword-free tokens, and a confidence for each hit
that the responder compares with the organization's threshold. Built indexes are cached per
organization and knowledge-base version (`Organization.knowledge_version`), so a process
builds each one once and an AI turn reads one value to know its index still holds.

BM25 ranks; it does not say whether the best entry answers the question at all, because its
scores are unbounded and depend on the corpus. The confidence does: it is the IDF-weighted
share of the query's content terms that the entry contains, a title match counting fully
and a match in the text only `BODY_MATCH_WEIGHT`. Query terms the knowledge base never
mentions count against it with the highest possible IDF, so "what's the airspeed of a
swallow" scores 0 and a paraphrase of an FAQ that shares its key terms scores high. A
query of numbers alone ("1", "two": a key pressed or said on a call, an order number on
its own) asks nothing the knowledge base could answer, whatever entry holds the number."""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import snowballstemmer
from rank_bm25 import BM25Okapi

BODY_MATCH_WEIGHT = 0.8
TITLE_REPEAT = 2  # title tokens are indexed twice: a title states what an entry is about
CACHE_SIZE = 32

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_STEMMER = snowballstemmer.stemmer("english")
_STEM_LOCK = threading.Lock()  # the Snowball stemmer keeps state between calls

Item = tuple[int, str, str]  # (entry id, title, body)

# English function words, contractions, and the filler of chat questions ("can you tell me
# ... please"): left in, they would count as content terms the knowledge base lacks.
_STOPWORD_TEXT = """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your
    yours yourself yourselves also anyone anything else ever get got may might must
    shall us let lets okay ok yes yeah hi hello hey please pls plz thanks thank thx
    tell know want wanted wonder wondering like need question ask asking help guys much
    many sell sells buy take offer find possible able way
    i'm i've i'd i'll you're you've you'd you'll he's she's it's we're we've we'd we'll
    they're they've they'd they'll that's there's what's where's when's who's how's why's
    here's let's can't cannot couldn't don't doesn't didn't isn't aren't wasn't weren't
    won't wouldn't shouldn't hasn't haven't hadn't mustn't im ive dont cant doesnt didnt
    isnt arent wont whats hows
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_NUMBER_WORDS = """
    zero one two three four five six seven eight nine ten eleven twelve first second third
"""


def tokenize(text: str) -> list[str]:
    """Lowercased Unicode words without stopwords, Snowball-stemmed."""
    words = []
    for word in _WORD.findall(text.lower().replace("\u2019", "'")):
        if word in STOPWORDS:
            continue
        word = word.removesuffix("'s").replace("'", "")
        if word not in STOPWORDS and (len(word) > 1 or word.isdigit()):
            words.append(word)
    with _STEM_LOCK:
        return list(_STEMMER.stemWords(words))


NUMBER_TERMS = frozenset(tokenize(_NUMBER_WORDS))


@dataclass(frozen=True, slots=True)
class Hit:
    index: int  # position of the entry in the items the index was built from
    entry_id: int
    title: str
    body: str
    score: float  # BM25: orders the hits, meaningless across queries
    confidence: float  # 0..1: how much of the question the entry covers


class KnowledgeIndex:
    """A BM25 index over (id, title, body) items; immutable once built."""

    def __init__(self, items: Iterable[Item]) -> None:
        self.items: tuple[Item, ...] = tuple(items)
        self._titles = [frozenset(tokenize(title)) for _, title, _ in self.items]
        self._terms = [
            titles | frozenset(tokenize(body))
            for titles, (_, _, body) in zip(self._titles, self.items, strict=True)
        ]
        document_frequency: dict[str, int] = {}
        for terms in self._terms:
            for term in terms:
                document_frequency[term] = document_frequency.get(term, 0) + 1
        size = len(self.items)
        # Okapi's own IDF turns negative for terms in over half the entries, and its floor is
        # negative too in a knowledge base of one or two entries; this smoothed IDF is not.
        self._idf = {term: _idf(size, count) for term, count in document_frequency.items()}
        self._unknown_idf = _idf(size, 0)
        self._bm25: BM25Okapi | None = None
        if document_frequency:
            corpus = [
                tokenize(title) * TITLE_REPEAT + tokenize(body) for _, title, body in self.items
            ]
            self._bm25 = BM25Okapi(corpus)
            self._bm25.idf = dict(self._idf)

    def __len__(self) -> int:
        return len(self.items)

    def search(self, query: str, limit: int = 3) -> list[Hit]:
        """The best `limit` entries sharing at least one content term with the query."""
        terms = list(dict.fromkeys(tokenize(query)))
        if self._bm25 is None or limit <= 0 or all(_is_number(term) for term in terms):
            return []
        scores = self._bm25.get_scores(terms)
        weights = {term: self._idf.get(term, self._unknown_idf) for term in terms}
        total = sum(weights.values())
        hits = []
        for index, (entry_id, title, body) in enumerate(self.items):
            covered = sum(
                weight * (1.0 if term in self._titles[index] else BODY_MATCH_WEIGHT)
                for term, weight in weights.items()
                if term in self._terms[index]
            )
            if covered > 0:
                confidence = min(1.0, covered / total)
                hits.append(Hit(index, entry_id, title, body, float(scores[index]), confidence))
        hits.sort(key=lambda hit: (-hit.score, -hit.confidence, hit.index))
        return hits[:limit]


def _is_number(term: str) -> bool:
    return term.isdigit() or term in NUMBER_TERMS


def _idf(size: int, count: int) -> float:
    return math.log(1.0 + (size - count + 0.5) / (count + 0.5))


class IndexCache:
    """A small LRU of built indexes, keyed by organization and knowledge-base version."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._indexes: OrderedDict[tuple[int, str], KnowledgeIndex] = OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0

    def find(self, organization_id: int, version: str) -> KnowledgeIndex | None:
        key = (organization_id, version)
        with self._lock:
            index = self._indexes.get(key)
            if index is not None:
                self._indexes.move_to_end(key)
            return index

    def build(self, organization_id: int, version: str, items: Sequence[Item]) -> KnowledgeIndex:
        """The index of `items`, the entries of this version, kept for the next turns."""
        index = KnowledgeIndex(items)
        with self._lock:
            self.builds += 1
            self._indexes[(organization_id, version)] = index
            self._indexes.move_to_end((organization_id, version))
            while len(self._indexes) > self.size:
                self._indexes.popitem(last=False)
        return index

    def clear(self) -> None:
        with self._lock:
            self._indexes.clear()


INDEXES = IndexCache()  # the process's
