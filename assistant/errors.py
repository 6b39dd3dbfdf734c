"""The exceptions the public API raises. Every one carries a message meant for a person."""


class AssistantError(Exception):
    """Base class: anything the assistant refuses or cannot do, with a readable reason."""


class InvalidQuestionError(AssistantError, ValueError):
    """The question is empty, whitespace only, or longer than the configured limit."""


class CorpusError(AssistantError):
    """The corpus folder is missing, empty, or holds no readable document."""


class DocumentError(AssistantError):
    """One document cannot be read (binary, not UTF-8, unsupported type, empty). Ingest skips it."""


class IndexNotFoundError(AssistantError):
    """No index has been built yet at the configured folder."""


class IndexCorruptError(AssistantError):
    """The index folder exists but cannot be read. `assistant ingest` rebuilds it."""


class IndexFormatError(IndexCorruptError):
    """The index was built by a version of the assistant that stored it differently. `assistant ingest`
    rebuilds it in place."""


class IndexBusyError(AssistantError):
    """Another process kept the index's write lock for longer than the wait allowed (ASSISTANT_WRITE_WAIT);
    nothing was changed."""


class IndexUnavailableError(AssistantError):
    """The Chroma server holding the index (ASSISTANT_CHROMA_URL) cannot be reached or failed a request.
    Nothing is cached as broken: the next request after it is back works."""


class DiskFullError(AssistantError):
    """The disk filled up while the index was being written. The articles written before stay answerable;
    the ones named were not indexed: free some space and run `assistant ingest` again."""


class ModelError(AssistantError):
    """The local model file is missing, incomplete, or fails its checksum."""


class BackendError(AssistantError):
    """A hosted or OpenAI-compatible model server rejected the request or could not be reached."""


class FetchError(AssistantError):
    """A link could not be added: the host is unreachable, the request timed out, the server answered with
    an HTTP error status, the response is too large, or it is neither an article page nor an RSS/Atom feed.
    Nothing was added."""


class BadUrlError(FetchError, ValueError):
    """What was given is not an http:// or https:// URL (a `file:`, `ftp:` or `javascript:` link, no host),
    or a redirect led to one."""


class AddressRefusedError(FetchError):
    """The link, or a redirect it led to, names a private, loopback or link-local address, which a server
    does not fetch unless ASSISTANT_ALLOW_PRIVATE_URLS allows it."""
