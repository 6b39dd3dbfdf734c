"""Building the index: corpus folder → documents → chunks → vectors → the index store.

Owns reading files into normalised documents (`documents`), adding and removing files in the corpus folder
(`corpus_folder`), chunking (`chunking`), incremental, crash-safe ingest (`ingest`), index status
(`status`), the store interface every index backend implements (`store`) and the embedded backend
(`embedded_store`: Chroma on disk, the SQLite `chunk_table`, the bm25s `keyword_index`).

May import `assistant.text`, `assistant.config`, `assistant.errors` and `assistant.models` (the embedding
model); never `answering`, `ui` or `evaluation`, which read the index through `store`.
"""
