"""The few domain errors of Byline's core; the service maps each `code` to an HTTP status."""


class BylineError(Exception):
    """Base class: `code` is a stable machine-readable name, the message says what to fix."""

    code = "byline_error"


class InvalidDocumentError(BylineError):
    """A document cannot be indexed as given (no text, bad id, unreadable file)."""

    code = "invalid_document"


class DocumentNotFoundError(BylineError):
    """No document with that id is in the index."""

    code = "document_not_found"

    def __init__(self, doc_id: str) -> None:
        super().__init__(
            f"no document with id {doc_id!r} is in the index; GET /documents lists them"
        )
        self.doc_id = doc_id


class IndexMismatchError(BylineError):
    """The index on disk was built with another model, dimension or chunking than configured."""

    code = "index_mismatch"


class IndexCorruptError(BylineError):
    """The index on disk is unreadable, truncated or fails its checksums."""

    code = "index_corrupt"


class ModelLoadError(BylineError):
    """The embedding model could not be loaded."""

    code = "model_load_failed"


class IndexConfigError(BylineError):
    """The configured storage cannot be used as configured (a backend not available here)."""

    code = "index_config"


class StoreUnavailableError(BylineError):
    """The archive's storage engine (Milvus) cannot be reached, timed out or failed."""

    code = "store_unavailable"
