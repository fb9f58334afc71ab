"""Knowledge files parse into (title, body) entries, bad files fail with a clear message,
and loading stores an organization's entries in one transaction."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import delete, event, func, select

from gateway.db import Database
from gateway.errors import BadInput, NotFound
from gateway.models import KnowledgeEntry, Organization
from handoff.ai.knowledge import (
    current_index,
    demo_knowledge_paths,
    fetch_entries,
    knowledge_index,
    load_knowledge,
    parse_file,
)
from handoff.ai.retrieval import INDEXES


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    await db.create_all()
    async with db.transaction() as session:
        session.add_all(
            [
                Organization(id=1, slug="northwind", name="Northwind", widget_key="k1"),
                Organization(id=2, slug="contoso", name="Contoso", widget_key="k2"),
            ]
        )
    yield db
    await db.dispose()


# --- parsing -------------------------------------------------------------------------------


def test_markdown_sections_become_entries(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "faq.md",
        "# Shop FAQ\n\nAn introduction that is not an entry.\n\n"
        "## Opening hours ##\n\nMon-Fri 9-17.\n\n\n\nClosed on Sundays.\n\n"
        "## Empty section\n\n"
        "## Returns\n\n### In store\nBring your receipt.\n"
        "```\n## not a heading inside code\n```\n",
    )
    assert parse_file(path) == [
        ("Opening hours", "Mon-Fri 9-17.\n\nClosed on Sundays."),
        (
            "Returns",
            "### In store\nBring your receipt.\n```\n## not a heading inside code\n```",
        ),
    ]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "policy.md",
            "# Privacy policy\n\nWe keep data safe.\n",
            ("Privacy policy", "We keep data safe."),
        ),
        ("store_hours.md", "Open 9 to 5.\n", ("store hours", "Open 9 to 5.")),
        ("gift-cards.markdown", "Valid 3 years.", ("gift cards", "Valid 3 years.")),
    ],
)
def test_a_markdown_file_without_sections_is_one_entry(
    tmp_path: Path, name: str, text: str, expected: tuple[str, str]
) -> None:
    assert parse_file(write(tmp_path, name, text)) == [expected]


@pytest.mark.parametrize(
    "header", ["question,answer", "Question,Answer", "title,body", "id,title,body"]
)
def test_csv_pairs_become_entries(tmp_path: Path, header: str) -> None:
    prefix = "9," if header.startswith("id") else ""
    text = (
        f'{header}\n{prefix}Do you ship abroad?,"Yes, to the EU."\n'
        f"{prefix},no question\n{prefix}Gift cards?,Yes.\n"
    )
    assert parse_file(write(tmp_path, "faq.csv", text)) == [
        ("Do you ship abroad?", "Yes, to the EU."),
        ("Gift cards?", "Yes."),
    ]


def test_catalog_rows_become_entries_titled_by_the_first_column(tmp_path: Path) -> None:
    text = "\ufeffname,price,sizes,description\nTent,299,,Two-person tent\n,10,S,No name\n"
    assert parse_file(write(tmp_path, "catalog.csv", text)) == [
        ("Tent", "name: Tent\nprice: 299\ndescription: Two-person tent")
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.txt", "hello", "the file notes.txt is not a Markdown (.md) or CSV (.csv) file"),
        ("README", "hello", "the file README is not a Markdown (.md) or CSV (.csv) file"),
        ("faq.md", "  \n\n", "faq.md: the file is empty"),
        ("faq.csv", "", "faq.csv: the file is empty"),
        ("faq.md", "# Title only\n", "no entries"),
        ("faq.md", "## Heading\n\n## Another\n", "no entries"),
        ("items.csv", "name\nTent\nStove\n", "at least two named columns"),
        ("faq.csv", "question,answer\n", "no entries"),
    ],
)
def test_unusable_files_are_refused_with_a_clear_message(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    with pytest.raises(BadInput, match=re.escape(message)):
        parse_file(write(tmp_path, name, content))


def test_missing_and_undecodable_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="not found"):
        parse_file(tmp_path / "missing.md")
    latin1 = tmp_path / "faq.md"
    latin1.write_bytes("## Caf\xe9\n\nOpen.".encode("latin-1"))
    with pytest.raises(BadInput, match="not UTF-8"):
        parse_file(latin1)


def test_the_demo_knowledge_base_parses() -> None:
    faq, catalog = (parse_file(path) for path in demo_knowledge_paths())
    titles = [title.split(":")[0] for title, _ in faq]  # "Topic: the customer's question"
    assert len(faq) >= 15
    for expected in ("Opening hours", "Returns policy", "Payment methods", "Gift cards"):
        assert expected in titles
    assert len(catalog) == 10
    assert all(body.startswith(f"name: {title}\nprice: ") for title, body in catalog)


# --- storing -------------------------------------------------------------------------------


async def count_entries(db: Database, organization_id: int) -> int:
    async with db.transaction() as session:
        query = select(func.count()).where(KnowledgeEntry.organization_id == organization_id)
        return int(await session.scalar(query.select_from(KnowledgeEntry)) or 0)


async def test_loading_stores_entries_with_their_source(
    sqlite_db: Database, tmp_path: Path
) -> None:
    faq = write(tmp_path, "faq.md", "## Hours\n\n9 to 5.\n\n## Returns\n\n30 days.\n")
    catalog = write(tmp_path, "catalog.csv", "name,price\nTent,299\n")
    assert await load_knowledge(sqlite_db, 1, [faq, str(catalog)]) == 3
    async with sqlite_db.transaction() as session:
        entries = await fetch_entries(session, 1)
        assert await fetch_entries(session, 2) == []
    assert [(e.organization_id, e.source, e.title, e.body) for e in entries] == [
        (1, "faq.md", "Hours", "9 to 5."),
        (1, "faq.md", "Returns", "30 days."),
        (1, "catalog.csv", "Tent", "name: Tent\nprice: 299"),
    ]


async def test_replace_swaps_only_this_organizations_entries(
    sqlite_db: Database, tmp_path: Path
) -> None:
    first = write(tmp_path, "first.md", "## A\n\na\n\n## B\n\nb\n")
    second = write(tmp_path, "second.md", "## C\n\nc\n")
    await load_knowledge(sqlite_db, 1, [first])
    await load_knowledge(sqlite_db, 2, [first])
    assert await load_knowledge(sqlite_db, 1, [second]) == 1
    assert await count_entries(sqlite_db, 1) == 1
    assert await count_entries(sqlite_db, 2) == 2
    await load_knowledge(sqlite_db, 1, [first], replace=False)
    async with sqlite_db.transaction() as session:
        assert [e.title for e in await fetch_entries(session, 1)] == ["C", "A", "B"]


async def test_a_bad_file_leaves_the_stored_knowledge_base_unchanged(
    sqlite_db: Database, tmp_path: Path
) -> None:
    good = write(tmp_path, "good.md", "## A\n\na\n")
    bad = write(tmp_path, "bad.pdf", "%PDF")
    await load_knowledge(sqlite_db, 1, [good])
    with pytest.raises(BadInput, match=r"bad\.pdf"):
        await load_knowledge(sqlite_db, 1, [good, bad])
    with pytest.raises(BadInput, match="no knowledge files"):
        await load_knowledge(sqlite_db, 1, [])
    with pytest.raises(NotFound):
        await load_knowledge(sqlite_db, 99, [good])
    assert await count_entries(sqlite_db, 1) == 1


async def test_the_demo_knowledge_base_loads(sqlite_db: Database) -> None:
    stored = await load_knowledge(sqlite_db, 1, demo_knowledge_paths())
    assert stored == sum(len(parse_file(path)) for path in demo_knowledge_paths())
    assert await count_entries(sqlite_db, 1) == stored


# --- the retrieval index ---------------------------------------------------------------------


async def test_an_index_is_built_once_per_version_of_the_knowledge_base(
    sqlite_db: Database, tmp_path: Path
) -> None:
    await load_knowledge(sqlite_db, 1, [write(tmp_path, "faq.md", "## Hours\n\n9 to 5.\n")])
    await load_knowledge(sqlite_db, 2, [write(tmp_path, "other.md", "## Hours\n\nNoon.\n")])
    builds = INDEXES.builds
    async with sqlite_db.read() as session:
        index = await knowledge_index(session, 1)
        assert await knowledge_index(session, 1) is index  # no change: the same index
        theirs = await knowledge_index(session, 2)
    assert INDEXES.builds == builds + 2
    assert index.search("hours")[0].body == "9 to 5."
    assert theirs.search("hours")[0].body == "Noon."

    await load_knowledge(sqlite_db, 1, [write(tmp_path, "faq.md", "## Hours\n\n8 to 8.\n")])
    async with sqlite_db.read() as session:
        changed = await knowledge_index(session, 1)
        assert await knowledge_index(session, 2) is theirs
    assert changed.search("hours")[0].body == "8 to 8."


async def test_a_version_read_with_the_conversation_spares_the_index_its_own_read(
    sqlite_db: Database, tmp_path: Path
) -> None:
    await load_knowledge(sqlite_db, 1, [write(tmp_path, "faq.md", "## Hours\n\n9 to 5.\n")])
    statements: list[str] = []

    @event.listens_for(sqlite_db.engine.sync_engine, "before_cursor_execute")
    def _keep(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    async def version() -> str:
        async with sqlite_db.read() as session:
            found = await session.scalar(
                select(Organization.knowledge_version).where(Organization.id == 1)
            )
        assert found is not None
        return found

    held = await current_index(sqlite_db, 1)  # no version given: read, and built
    assert any("FROM knowledge_entries" in sql for sql in statements)
    first = await version()
    statements.clear()
    assert await current_index(sqlite_db, 1, first) is held
    assert statements == []  # the index of that version is held: nothing to read

    await load_knowledge(sqlite_db, 1, [write(tmp_path, "faq.md", "## Hours\n\n8 to 8.\n")])
    assert await current_index(sqlite_db, 1, first) is held  # the version the caller read
    second = await version()
    statements.clear()
    changed = await current_index(sqlite_db, 1, second)  # not held yet: read and built
    assert any("FROM knowledge_entries" in sql for sql in statements)
    assert changed.search("hours")[0].body == "8 to 8."


async def test_an_organization_given_a_deleted_ones_id_never_gets_its_index(
    sqlite_db: Database, tmp_path: Path
) -> None:
    await load_knowledge(sqlite_db, 1, [write(tmp_path, "faq.md", "## Hours\n\n9 to 5.\n")])
    async with sqlite_db.read() as session:
        assert len(await knowledge_index(session, 1)) == 1
    async with sqlite_db.transaction() as session:
        await session.execute(delete(KnowledgeEntry).where(KnowledgeEntry.organization_id == 1))
        await session.execute(delete(Organization).where(Organization.id == 1))
        session.add(Organization(id=1, slug="newco", name="NewCo", widget_key="k3"))
    async with sqlite_db.read() as session:
        assert len(await knowledge_index(session, 1)) == 0
        assert len(await knowledge_index(session, 99)) == 0  # no such organization


async def test_an_empty_knowledge_base_is_indexed_once_too(sqlite_db: Database) -> None:
    builds = INDEXES.builds
    async with sqlite_db.read() as session:
        empty = await knowledge_index(session, 2)
        assert await knowledge_index(session, 2) is empty
    assert len(empty) == 0 and INDEXES.builds == builds + 1
