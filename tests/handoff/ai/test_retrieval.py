"""BM25 retrieval over the demo knowledge base: FAQ paraphrases find their entry with a
high confidence, unrelated questions find nothing or score low, and indexes are cached."""

from __future__ import annotations

import pytest

from handoff.ai.knowledge import demo_knowledge_paths, parse_file
from handoff.ai.retrieval import IndexCache, KnowledgeIndex, tokenize

Item = tuple[int, str, str]


@pytest.fixture(scope="module")
def demo_items() -> list[Item]:
    entries = [entry for path in demo_knowledge_paths() for entry in parse_file(path)]
    return [(number, title, body) for number, (title, body) in enumerate(entries, start=100)]


@pytest.fixture(scope="module")
def demo_index(demo_items: list[Item]) -> KnowledgeIndex:
    return KnowledgeIndex(demo_items)


def test_tokenize_lowercases_stems_and_drops_stopwords() -> None:
    assert tokenize("What are your Opening HOURS on Sundays?") == ["open", "hour", "sunday"]
    assert tokenize("Where's the customer's parcel?") == ["custom", "parcel"]
    assert tokenize("Größe 42 für Schuhe") == ["größe", "42", "für", "schuhe"]
    assert tokenize("can you tell me, please?") == []


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("what are your opening hours", "Opening hours"),
        ("when do you open on sunday", "Opening hours"),
        ("what time do you close on saturday?", "Opening hours"),
        ("how do I return shoes", "Returns policy"),
        ("do you ship to norway", "International shipping"),
        ("can I pay with apple pay", "Payment methods"),
        ("do you take paypal?", "Payment methods"),
        ("can I cancel my order", "Changing or cancelling an order"),
        ("do you have a store in manchester", "Store locations"),
        ("is there a student discount", "Student discount"),
        ("how can I contact you", "Contact"),
        ("how much are the hiking boots", "Trailblazer Hiking Boots"),
        ("do you sell a two-person tent?", "Nordlys 2 Tent"),
        ("How long does shipping take?", "Shipping times"),
        ("when will my order arrive", "Shipping times"),
        ("how much is shipping", "Shipping costs"),
        ("do you ship abroad", "International shipping"),
        ("where is my parcel", "Order tracking"),
    ],
)
def test_paraphrases_find_their_entry_with_high_confidence(
    demo_index: KnowledgeIndex, question: str, title: str
) -> None:
    hits = demo_index.search(question, limit=3)
    assert hits, question
    assert topic(hits[0].title) == title
    assert hits[0].confidence >= 0.5
    assert hits[0].score > 0


@pytest.mark.parametrize(
    "question",
    [
        "what's the airspeed of a swallow",
        "what is the meaning of life?",
        "do you sell bicycles",
        "where can I park my car",
        "what's the weather tomorrow",
    ],
)
def test_unrelated_questions_find_nothing(demo_index: KnowledgeIndex, question: str) -> None:
    assert demo_index.search(question) == []


@pytest.mark.parametrize(
    "question",
    [
        "what is the capital of norway",  # shares one word with an entry
        "can you recommend a good restaurant near your manchester store",
        "how do I reset the password of my router",
    ],
)
def test_partly_related_questions_score_low(demo_index: KnowledgeIndex, question: str) -> None:
    assert all(hit.confidence < 0.45 for hit in demo_index.search(question)), question


def test_hits_are_ordered_limited_and_point_back_to_their_items(
    demo_index: KnowledgeIndex, demo_items: list[Item]
) -> None:
    hits = demo_index.search("shipping costs and delivery times", limit=4)
    assert len(hits) == 4
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert {topic(hits[0].title), topic(hits[1].title)} == {"Shipping costs", "Shipping times"}
    for hit in hits:
        assert demo_items[hit.index] == (hit.entry_id, hit.title, hit.body)
        assert 0 < hit.confidence <= 1
    assert demo_index.search("shipping", limit=0) == []


def test_a_title_match_counts_more_than_a_match_in_the_text() -> None:
    index = KnowledgeIndex(
        [(1, "Gift cards", "Valid for three years."), (2, "Payments", "We take gift cards.")]
    )
    by_title = {hit.title: hit.confidence for hit in index.search("gift cards")}
    assert by_title["Gift cards"] == pytest.approx(1.0)
    assert 0.5 < by_title["Payments"] < 1.0


def test_empty_knowledge_bases_and_empty_queries_give_no_hits(
    demo_index: KnowledgeIndex,
) -> None:
    assert KnowledgeIndex([]).search("opening hours") == []
    assert KnowledgeIndex([(1, "The", "and of")]).search("the") == []
    assert demo_index.search("") == []
    assert demo_index.search("what is it, please?") == []


def test_a_single_entry_knowledge_base_still_ranks_and_scores() -> None:
    index = KnowledgeIndex([(7, "Opening hours", "Open daily from 9 to 17.")])
    [hit] = index.search("when are you open?")
    assert hit.entry_id == 7
    assert hit.confidence == pytest.approx(1.0)
    assert hit.score > 0


def test_the_cache_keeps_an_index_per_version_and_evicts_the_least_recently_used() -> None:
    cache = IndexCache(size=2)
    assert cache.find(1, "v1") is None
    index = cache.build(1, "v1", [(1, "Hours", "9 to 5")])
    assert cache.find(1, "v1") is index
    assert cache.find(1, "v2") is None  # another version of the same knowledge base
    assert cache.find(2, "v1") is None  # another organization's
    changed = cache.build(1, "v2", [(1, "Hours", "9 to 6")])
    assert cache.find(1, "v1") is index  # now the most recently used
    cache.build(2, "v1", [(2, "Returns", "30 days")])  # evicts v2, the least recently used
    assert cache.find(1, "v2") is None
    assert cache.find(1, "v1") is index
    assert changed.search("hours")[0].body == "9 to 6"
    assert cache.builds == 3


def topic(title: str) -> str:
    """The topic of a demo FAQ heading ("Topic: the customer's question")."""
    return title.split(":")[0]
