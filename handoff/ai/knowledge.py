"""An organization's knowledge base: what the offline responder answers from. Admins load it
from Markdown files (one entry per `##` section) and CSV files (FAQ pairs or a product
catalog); every file is parsed before the database is touched, so a bad file leaves the
stored knowledge base as it was. Every change to the entries changes the organization's
knowledge version in the same transaction; the responders' retrieval index is keyed by it
(`knowledge_index`), so an AI turn reads the entries only when they changed."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import Database
from gateway.errors import BadInput, NotFound
from gateway.models import KnowledgeEntry, Organization, new_knowledge_version
from handoff.ai.retrieval import INDEXES, Item, KnowledgeIndex

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
CSV_SUFFIXES = frozenset({".csv"})
PAIR_COLUMNS = (("question", "answer"), ("title", "body"))
SOURCE_LENGTH = 255  # KnowledgeEntry.source is a String(255)

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")

Entry = tuple[str, str]


def demo_knowledge_paths() -> list[Path]:
    """The sample knowledge base of the demo organization (a fictional outdoor shop)."""
    folder = Path(__file__).resolve().parent / "demo_kb"
    return [folder / "faq.md", folder / "catalog.csv"]


def parse_file(path: Path | str) -> list[Entry]:
    """The (title, body) entries of one knowledge file, chosen by its extension."""
    path = Path(path)
    _check_suffix(path.name)
    return parse_text(path.name, _read_text(path))


def parse_upload(name: str, data: bytes) -> list[Entry]:
    """The entries of a file an admin uploaded (its name chooses how it is read)."""
    _check_suffix(name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        message = f"the file {name} is not UTF-8 text; save it as UTF-8 and upload it again"
        raise BadInput(message) from None
    if "\x00" in text:  # no database stores it in a text column
        raise BadInput(f"the file {name} holds a NUL character: it is not a text file")
    return parse_text(name, text)


def _check_suffix(name: str) -> None:
    suffix = Path(name).suffix.lower()
    if suffix not in MARKDOWN_SUFFIXES | CSV_SUFFIXES:
        raise BadInput(
            f"the file {name} is not a Markdown (.md) or CSV (.csv) file; the knowledge base "
            "reads only those"
        )


def parse_text(name: str, text: str) -> list[Entry]:
    """The entries of a knowledge file's text; `name` chooses Markdown or CSV."""
    path = Path(name)
    if not text.strip():
        raise BadInput(f"{path.name}: the file is empty")
    markdown = path.suffix.lower() in MARKDOWN_SUFFIXES
    entries = parse_markdown(text, path.stem) if markdown else parse_csv(text)
    if not entries:
        raise BadInput(f"{path.name}: no entries with both a title and a text were found")
    return entries


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise BadInput(f"knowledge file not found: {path}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path.name}: not UTF-8 text") from None
    except OSError as error:
        raise BadInput(f"{path.name}: cannot be read ({error.strerror})") from None


def parse_markdown(text: str, fallback_title: str) -> list[Entry]:
    """Each `## heading` section is one entry (deeper headings stay in its text; text before
    the first `##` is an introduction and is not stored). A document without `##` headings
    is one entry, titled by its `# title` or else by `fallback_title`."""
    title: str | None = None
    sections: list[tuple[str, list[str]]] = []
    preamble: list[str] = []
    in_fence = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line)
        if heading and len(heading.group(1)) == 2:
            sections.append((heading.group(2), []))
        elif heading and len(heading.group(1)) == 1 and title is None and not sections:
            title = heading.group(2)
        elif sections:
            sections[-1][1].append(line)
        else:
            preamble.append(line)
    if not sections:
        name = title or fallback_title.replace("_", " ").replace("-", " ").strip()
        return [(name, body)] if (body := _join(preamble)) and name else []
    return [(head, body) for head, lines in sections if head and (body := _join(lines))]


def _join(lines: Iterable[str]) -> str:
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in lines)).strip()


def parse_csv(text: str) -> list[Entry]:
    """FAQ pairs (`question,answer` or `title,body` columns), or a catalog: any other table
    of two or more columns, where each row is titled by its first column and its text lists
    every filled column as `column: value` lines."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return []
    header = [name.strip() for name in rows[0]]
    lowered = [name.lower() for name in header]
    for title_column, body_column in PAIR_COLUMNS:
        if title_column in lowered and body_column in lowered:
            t, b = lowered.index(title_column), lowered.index(body_column)
            return [
                (title, body)
                for row in rows[1:]
                if (title := _cell(row, t)) and (body := _cell(row, b))
            ]
    columns = [index for index, name in enumerate(header) if name]
    if len(columns) < 2:
        raise BadInput(
            "CSV knowledge files need `question,answer` or `title,body` columns, "
            "or a header with at least two named columns (a catalog)"
        )
    entries = []
    for row in rows[1:]:
        title = _cell(row, columns[0])
        lines = [f"{header[i]}: {value}" for i in columns if (value := _cell(row, i))]
        if title and len(lines) > 1:
            entries.append((title, "\n".join(lines)))
    return entries


def _cell(row: Sequence[str], index: int) -> str:
    return row[index].strip() if index < len(row) else ""


async def load_knowledge(
    db: Database, organization_id: int, paths: Iterable[Path | str], replace: bool = True
) -> int:
    """Store the entries of `paths` for the organization, in one transaction; with `replace`
    its existing entries are deleted first. Returns the number of entries stored."""
    parsed = [(Path(path).name, parse_file(path)) for path in paths]
    return await store_entries(db, organization_id, parsed, replace="all" if replace else "none")


async def store_entries(
    db: Database,
    organization_id: int,
    parsed: Sequence[tuple[str, list[Entry]]],
    replace: Literal["all", "same-file", "none"],
) -> int:
    """Store parsed files (name, entries) in one transaction. `replace` deletes first all
    the organization's entries, or only those loaded from files of the same names (an
    uploaded file then replaces its earlier version), or nothing."""
    if not parsed:
        raise BadInput("no knowledge files given")
    parsed = [(name[:SOURCE_LENGTH], entries) for name, entries in parsed]
    async with db.transaction() as session:
        if await session.get(Organization, organization_id) is None:
            raise NotFound(f"no organization with id {organization_id}")
        mine = KnowledgeEntry.organization_id == organization_id
        if replace == "all":
            await session.execute(delete(KnowledgeEntry).where(mine))
        elif replace == "same-file":
            names = [name for name, _ in parsed]
            same_file = KnowledgeEntry.source.in_(names)
            await session.execute(delete(KnowledgeEntry).where(mine, same_file))
        session.add_all(
            KnowledgeEntry(organization_id=organization_id, source=source, title=title, body=body)
            for source, entries in parsed
            for title, body in entries
        )
        await knowledge_changed(session, organization_id)
    return sum(len(entries) for _, entries in parsed)


async def knowledge_changed(session: AsyncSession, organization_id: int) -> None:
    """Give the organization's knowledge base a new version, in the transaction that
    changes its entries: every process's index of the old one is then out of use."""
    await session.execute(
        update(Organization)
        .where(Organization.id == organization_id)
        .values(knowledge_version=new_knowledge_version())
    )


async def fetch_entries(session: AsyncSession, organization_id: int) -> list[KnowledgeEntry]:
    """The organization's knowledge entries, in the order they were loaded."""
    result = await session.scalars(
        select(KnowledgeEntry)
        .where(KnowledgeEntry.organization_id == organization_id)
        .order_by(KnowledgeEntry.id)
    )
    return list(result.all())


_ITEMS = (
    select(KnowledgeEntry.id, KnowledgeEntry.title, KnowledgeEntry.body)
    .where(KnowledgeEntry.organization_id == bindparam("organization_id"))
    .order_by(KnowledgeEntry.id)
)


_VERSION = select(Organization.knowledge_version).where(
    Organization.id == bindparam("organization_id")
)


async def fetch_items(session: AsyncSession, organization_id: int) -> list[Item]:
    """The entries as the retrieval index takes them, without loading them as objects."""
    rows = await session.execute(_ITEMS, {"organization_id": organization_id})
    return [(entry_id, title, body) for entry_id, title, body in rows]


async def current_index(
    db: Database, organization_id: int, version: str | None = None
) -> KnowledgeIndex:
    """The retrieval index of the organization's knowledge base: the one this process
    holds for `version` (the version the caller read, say with the conversation), else
    `knowledge_index` on a read of its own."""
    index = INDEXES.find(organization_id, version) if version is not None else None
    if index is not None:
        return index
    async with db.read(quick=True) as session:
        return await knowledge_index(session, organization_id)


async def knowledge_index(session: AsyncSession, organization_id: int) -> KnowledgeIndex:
    """The retrieval index of the organization's knowledge base: the one this process
    built while its version holds, else built from the entries read just after the
    version. On SQLite both reads see one snapshot. On PostgreSQL a change committed
    between the two gives an index of the newer entries under the older version, which
    no later turn asks for: the change's commit made the newer version the one they read."""
    params = {"organization_id": organization_id}
    version = await session.scalar(_VERSION, params)
    if version is None:  # no such organization: nothing to answer from
        return KnowledgeIndex(())
    index = INDEXES.find(organization_id, version)
    if index is None:  # (an empty index is falsy: its length is 0)
        index = INDEXES.build(organization_id, version, await fetch_items(session, organization_id))
    return index
