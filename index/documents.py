"""Articles as Byline sees them, and reading them from files."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from index.errors import InvalidDocumentError

TEXT_SUFFIXES = (".txt", ".md")
RECORD_SUFFIXES = (".json", ".jsonl")
METADATA_FILE = "metadata.json"
"""A folder's optional metadata for its text files: `{"documents": [{"file": ..., "id": ...,
"title": ..., "publisher": ..., "url": ..., "published": ...}]}`."""

DOC_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
_DOC_ID = re.compile(DOC_ID_PATTERN)
_METADATA_FIELDS = ("title", "publisher", "url", "published")


@dataclass(frozen=True, slots=True)
class Document:
    """One article: its original text, exactly as received, and what is known about it."""

    doc_id: str
    text: str
    title: str | None = None
    publisher: str | None = None
    url: str | None = None
    published: str | None = None

    @property
    def checksum(self) -> str:
        """sha256 of the text: a changed text means new passages, a changed title does not."""
        return text_checksum(self.text)

    def metadata(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in _METADATA_FIELDS}


def published_timestamp(published: str | None) -> int | None:
    """Unix seconds of an ISO 8601 date or date-time (UTC when no offset is given);
    None when there is no date or it cannot be read as one."""
    if not published:
        return None
    try:
        moment = datetime.fromisoformat(published.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def text_checksum(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def validate_doc_id(doc_id: str) -> str:
    """Return the id if it is usable in a URL path, else say what an id may contain."""
    if not _DOC_ID.match(doc_id):
        raise InvalidDocumentError(
            f"document id {doc_id!r} is not allowed: use 1 to 128 letters, digits, '.', '_', "
            "':' or '-', starting with a letter or digit"
        )
    return doc_id


def derived_doc_id(text: str) -> str:
    """The id of a document given without one: stable for the same text."""
    return "doc-" + text_checksum(text)[:16]


def make_document(record: Mapping[str, Any], *, where: str = "document") -> Document:
    """Build a `Document` from a JSON-like record with `text` and optional metadata."""
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidDocumentError(f"{where}: 'text' is required and must be a non-empty string")
    raw_id = record.get("id")
    if raw_id is not None and not isinstance(raw_id, str):
        raise InvalidDocumentError(f"{where}: 'id' must be a string")
    fields: dict[str, str | None] = {}
    for name in _METADATA_FIELDS:
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidDocumentError(f"{where}: {name!r} must be a string or null")
        fields[name] = value or None
    doc_id = validate_doc_id(raw_id) if raw_id else derived_doc_id(text)
    return Document(doc_id=doc_id, text=text, **fields)


def _read_text(path: Path) -> str:
    # Bytes are decoded as they are: no newline translation, so offsets match the file.
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidDocumentError(f"{path}: not valid UTF-8 ({exc}); re-save it as UTF-8") from exc
    except OSError as exc:
        raise InvalidDocumentError(f"{path}: cannot be read ({exc.strerror})") from exc


def _id_from_path(path: Path, root: Path) -> str:
    relative = path.relative_to(root).with_suffix("").as_posix()
    return validate_doc_id(re.sub(r"[^A-Za-z0-9._:-]", "_", relative).lstrip("._:-") or "doc")


def _folder_metadata(folder: Path) -> dict[str, Mapping[str, Any]]:
    path = folder / METADATA_FILE
    if not path.is_file():
        return {}
    try:
        entries = json.loads(_read_text(path))["documents"]
        return {str(entry["file"]): entry for entry in entries}
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InvalidDocumentError(
            f'{path}: expected {{"documents": [{{"file": ..., "id": ..., ...}}]}} ({exc})'
        ) from exc


def _records(path: Path) -> Iterator[tuple[Mapping[str, Any], str]]:
    text = _read_text(path)
    if path.suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                yield _parse_json(line, f"{path}:{number}"), f"{path}:{number}"
        return
    data = _parse_json(text, str(path))
    if isinstance(data, dict) and "documents" in data:
        data = data["documents"]
    items = data if isinstance(data, list) else [data]
    for number, item in enumerate(items):
        yield item, f"{path}[{number}]"


def _parse_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidDocumentError(f"{where}: invalid JSON ({exc})") from exc


def _from_file(path: Path, root: Path, metadata: Mapping[str, Mapping[str, Any]]) -> list[Document]:
    if path.suffix in RECORD_SUFFIXES:
        docs = []
        for record, where in _records(path):
            if not isinstance(record, dict):
                raise InvalidDocumentError(f"{where}: expected an object with a 'text' field")
            docs.append(make_document(record, where=where))
        return docs
    entry = dict(metadata.get(path.name, {}))
    entry["text"] = _read_text(path)
    entry.setdefault("id", _id_from_path(path, root))
    if not entry["text"].strip():
        return []  # an empty article file is skipped, not an error for the whole folder
    return [make_document(entry, where=str(path))]


def load_documents(paths: Iterable[Path]) -> list[Document]:
    """Read articles from files and folders (searched recursively, in name order).

    A folder's `.txt` and `.md` files are articles, described by the folder's optional
    `metadata.json`; `.json` and `.jsonl` files hold records with `text` and optional `id`,
    `title`, `url`, `published` and `publisher`. Two documents with one id are refused.
    """
    documents: dict[str, tuple[Document, str]] = {}
    metadata_by_folder: dict[Path, dict[str, Mapping[str, Any]]] = {}
    for path in paths:
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix in TEXT_SUFFIXES + RECORD_SUFFIXES
                and p.name != METADATA_FILE
            )
            root = path
        elif path.is_file():
            files, root = [path], path.parent
        else:
            raise InvalidDocumentError(f"{path}: no such file or folder")
        for file in files:
            if file.parent not in metadata_by_folder:
                metadata_by_folder[file.parent] = _folder_metadata(file.parent)
            for doc in _from_file(file, root, metadata_by_folder[file.parent]):
                if doc.doc_id in documents:
                    raise InvalidDocumentError(
                        f"{file}: document id {doc.doc_id!r} is also used by "
                        f"{documents[doc.doc_id][1]}; give one of them another id"
                    )
                documents[doc.doc_id] = (doc, str(file))
    return [doc for doc, _ in documents.values()]
