"""The admins' API over their organization's knowledge base (`/api/admin/knowledge`): the
entries a page at a time, uploading Markdown and CSV files, deleting an entry, and "test a
question", which answers as the AI would with the retrieval confidence behind the answer.

The desk may import `handoff` (the dependency rule lets the agents' web use the handoff
logic, never the other way round), so these routes live here with the rest of the admins'
API and use `handoff.ai.knowledge` for parsing and storing and the offline responder for
the test. An uploaded file replaces the entries an earlier file of the same name loaded,
so correcting a file and uploading it again does not double its entries; every file is
parsed before anything is stored, so a bad file changes nothing."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, jsonify, request
from quart.typing import ResponseReturnValue
from sqlalchemy import delete, func, select

from gateway.auth import Role, current_agent, login_required
from gateway.errors import BadInput, NotFound
from gateway.inputs import json_object
from gateway.models import KnowledgeEntry, Organization
from gateway.openapi import (
    BOOLEAN,
    INTEGER,
    STRING,
    TIMESTAMP,
    Param,
    array,
    documented,
    nullable,
    obj,
    schema,
)
from gateway.org_settings import OrganizationSettings
from gateway.web import app_services, database
from handoff.ai.knowledge import knowledge_changed, parse_upload, store_entries
from handoff.ai.llm_client import llm_config
from handoff.ai.offline_responder import OfflineResponder
from handoff.ai.responder import ResponderRequest, Turn

knowledge_api = Blueprint("knowledge_api", __name__)
API = "/api/admin/knowledge"
PAGE_SIZE = 20
MAX_PAGE = 100_000
MAX_FILES = 10
MAX_QUESTION_CHARS = 500
TAGS = ["knowledge"]
ENTRY = schema(
    "KnowledgeEntry",
    obj(
        ["id", "title", "body", "source"],
        id=INTEGER,
        title=STRING,
        body=STRING,
        source={**STRING, "description": "the name of the file it was loaded from"},
        created_at=TIMESTAMP,
    ),
)
MATCH = obj(["id", "title", "confidence"], id=INTEGER, title=STRING, confidence={"type": "number"})


def _entry(row: KnowledgeEntry) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "body": row.body,
        "source": row.source,
        "created_at": row.created_at,
    }


def _page_number() -> int:
    raw = request.args.get("page", "1")
    # isdigit() also takes "²" and other digits int() refuses; only a few ASCII digits do
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6) or not 1 <= int(raw) <= MAX_PAGE:
        raise BadInput(f"the page must be a whole number from 1 to {MAX_PAGE}")
    return int(raw)


@knowledge_api.get(API)
@login_required(role=Role.ADMIN)
@documented(
    f"The organization's knowledge entries, {PAGE_SIZE} a page, in the order loaded (admins)",
    tags=TAGS,
    query=(Param("page", "from 1", INTEGER),),
    response=obj(
        ["entries", "total", "page", "pages"],
        entries=array(ENTRY),
        total=INTEGER,
        page=INTEGER,
        pages=INTEGER,
    ),
    errors=(400, 403),
)
async def entries() -> ResponseReturnValue:
    page = _page_number()
    mine = KnowledgeEntry.organization_id == current_agent().organization_id
    async with database().transaction() as session:
        total = await session.scalar(select(func.count(KnowledgeEntry.id)).where(mine)) or 0
        rows = await session.scalars(
            select(KnowledgeEntry)
            .where(mine)
            .order_by(KnowledgeEntry.id)
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
        found = [_entry(row) for row in rows]
    pages = max(1, -(-total // PAGE_SIZE))
    return jsonify({"entries": found, "total": total, "page": page, "pages": pages})


@knowledge_api.post(API)
@login_required(role=Role.ADMIN)
@documented(
    "Upload Markdown or CSV knowledge files (admins)",
    tags=TAGS,
    description="A multipart form with one or more `files`. Markdown: one entry per `##` "
    "section; CSV: `question,answer` or `title,body` columns, or a catalog. A file replaces "
    "the entries an earlier file of the same name loaded. Every file is read before "
    "anything is stored: one bad file stores nothing.",
    raw_body=("multipart/form-data",),
    response=obj(
        ["stored", "files"],
        stored=INTEGER,
        files=array(obj(["name", "entries"], name=STRING, entries=INTEGER)),
    ),
    status=201,
    errors=(400, 403, 413),
)
async def upload() -> ResponseReturnValue:
    organization_id = current_agent().organization_id
    uploaded = (await request.files).getlist("files")
    named = [file for file in uploaded if file.filename]
    if not named:
        raise BadInput("choose at least one Markdown (.md) or CSV (.csv) file to upload")
    if len(named) > MAX_FILES:
        raise BadInput(f"upload at most {MAX_FILES} files at a time")
    parsed = []
    for file in named:
        name = (file.filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
        if any(ord(char) < 32 or ord(char) == 127 for char in name):
            raise BadInput("a file name may not contain control characters")
        parsed.append((name, parse_upload(name, file.read())))
    stored = await store_entries(database(), organization_id, parsed, replace="same-file")
    files = [{"name": name, "entries": len(found)} for name, found in parsed]
    return jsonify({"stored": stored, "files": files}), 201


@knowledge_api.delete(f"{API}/<int:entry_id>")
@login_required(role=Role.ADMIN)
@documented(
    "Delete one knowledge entry (admins)",
    tags=TAGS,
    response=obj(["deleted"], deleted=INTEGER),
    errors=(403, 404),
)
async def delete_entry(entry_id: int) -> ResponseReturnValue:
    async with database().transaction() as session:
        removed = await session.execute(
            delete(KnowledgeEntry).where(
                KnowledgeEntry.id == entry_id,
                KnowledgeEntry.organization_id == current_agent().organization_id,
            )
        )
        deleted = removed.rowcount == 1  # type: ignore[attr-defined]
        if deleted:
            await knowledge_changed(session, current_agent().organization_id)
    if not deleted:
        raise NotFound("there is no such entry in your knowledge base")
    return jsonify({"deleted": entry_id})


@knowledge_api.post(f"{API}/test")
@login_required(role=Role.ADMIN)
@documented(
    "Answer a question as the AI would, with the retrieval confidence (admins)",
    tags=TAGS,
    description="`answer` is the knowledge-base answer (or the AI's \"I'm not sure\"), "
    "`match` the entry it comes from and `closest` the best entry found even when it is "
    "below `threshold`, the confidence the AI needs to answer. `hosted_model` is true when "
    "a hosted model writes the real replies from the entries it finds.",
    body=obj(["question"], question={**STRING, "maxLength": MAX_QUESTION_CHARS}),
    response=obj(
        ["answer", "knows", "confidence", "threshold", "closest", "hosted_model"],
        answer=STRING,
        knows=BOOLEAN,
        confidence={"type": "number"},
        threshold={"type": "number"},
        closest=nullable(MATCH),
        hosted_model=BOOLEAN,
    ),
    errors=(400, 403),
)
async def test_question() -> ResponseReturnValue:
    question = (await json_object()).get("question")
    if not isinstance(question, str) or not question.strip():
        raise BadInput("write a question to test")
    if len(question) > MAX_QUESTION_CHARS:
        raise BadInput(f"a test question may have at most {MAX_QUESTION_CHARS} characters")
    organization_id = current_agent().organization_id
    services = app_services().services
    async with services.db.transaction() as session:
        organization = await session.get(Organization, organization_id)
        if organization is None:
            raise NotFound("no such organization")
        name, settings = organization.name, OrganizationSettings.from_json(organization.settings)
    threshold = settings.ai_confidence_threshold
    responder = OfflineResponder(services.db, threshold=threshold)
    reply = await responder.respond(
        ResponderRequest(organization_id, 0, (Turn("customer", question.strip()),), name)
    )
    best = await responder.best_hit(organization_id, question.strip())
    closest = None
    if best is not None:
        closest = {"id": best.entry_id, "title": best.title, "confidence": best.confidence}
    return jsonify(
        {
            "answer": reply.text,
            "knows": reply.knows,
            "confidence": reply.confidence,
            "threshold": threshold,
            "closest": closest,
            "hosted_model": llm_config(services.settings, settings) is not None,
        }
    )
