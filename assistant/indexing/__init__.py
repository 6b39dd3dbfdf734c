"""Building the index: corpus folder → documents → chunks → vectors → the index store.

Owns reading files into normalised documents (`documents`, with their dates, outlets and authors:
`article_meta`), adding and removing files in the corpus folder (`corpus_folder`), adding articles by link and
feed (`fetch`: the one code that reaches beyond the machine, when a user adds a link; `web`: pages and feeds
read; `links`: the files written), copies of one story (`copies`), chunking (`chunking`), incremental, crash-
safe ingest (`ingest`), index status (`status`), the store interface every index backend implements (`store`)
and the embedded backend (`embedded_store`: Chroma on disk, the SQLite `chunk_table`, the bm25s
`keyword_index`).

May import `assistant.text`, `assistant.config`, `assistant.errors` and `assistant.models` (the embedding
model); never `answering`, `ui` or `evaluation`, which read the index through `store`.
"""
