"""The models: the embedding model (all-MiniLM-L6-v2 run in plain torch, `embeddings` and `minilm`) and the
LLM backends (`llm` builds the configured one: the embedded llama.cpp model in `local`, whose file is
assembled and checked by `model_file` and whose fixed prompt state `prefix_state` keeps on disk; or OpenAI
or an OpenAI-compatible server through LlamaIndex's clients).

Model weights come only from installed packages, never from a hub. May import `assistant.config` and
`assistant.errors`; nothing else of ours (both pipelines import this package, not the other way round).
"""
