"""Split a normalised document into chunks of whole sentences, each with exact character offsets.

A chunk is always a true slice of the document (``doc.text[start:end] == chunk.text``), so a citation
can be shown in place. Paragraphs that repeat earlier ones verbatim are skipped, and a chunk never
spans a skipped paragraph.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..text import Span, paragraphs, sentences
from .documents import Document


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    title: str
    source: str
    text: str
    start: int
    end: int
    content_hash: str  # sha256 of text; chunk_id ends with its first 12 characters

    def metadata(self) -> dict[str, str | int]:
        """What the index stores beside the text, to cite the chunk. Hashes are left out: nothing reads
        them back, and every stored key costs Chroma's add a row."""
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "source": self.source,
            "start": self.start,
            "end": self.end,
        }


def chunk_document(doc: Document, chunk_words: int, overlap_sentences: int = 1) -> list[Chunk]:
    """Pack whole sentences into chunks of about chunk_words words, repeating overlap_sentences."""
    runs = _sentence_runs(doc.text)
    chunks: list[Chunk] = []
    seen_hashes: set[str] = set()
    for run in runs:
        i = 0
        while i < len(run):
            j, words = i, 0
            while j < len(run) and (j == i or words + _words(doc.text, run[j]) <= chunk_words):
                words += _words(doc.text, run[j])
                j += 1
            start, end = run[i].start, run[j - 1].end
            text = doc.text[start:end]
            digest = hashlib.sha256(text.encode()).hexdigest()
            if digest not in seen_hashes:
                seen_hashes.add(digest)
                chunks.append(
                    Chunk(
                        chunk_id=f"{doc.doc_id}:{start}-{end}:{digest[:12]}",
                        doc_id=doc.doc_id,
                        title=doc.title,
                        source=doc.source,
                        text=text,
                        start=start,
                        end=end,
                        content_hash=digest,
                    )
                )
            if j >= len(run):
                break
            i = max(i + 1, j - overlap_sentences)
    return chunks


def _sentence_runs(text: str) -> list[list[Span]]:
    """Sentences grouped into runs of consecutive paragraphs, broken wherever a repeat was skipped."""
    runs: list[list[Span]] = [[]]
    seen: set[str] = set()
    for para in paragraphs(text):
        key = " ".join(text[para.start : para.end].split()).lower()
        if key in seen:
            if runs[-1]:
                runs.append([])
            continue
        seen.add(key)
        runs[-1].extend(sentences(text, para.start, para.end))
    return [run for run in runs if run]


def _words(text: str, span: Span) -> int:
    return len(text[span.start : span.end].split())
