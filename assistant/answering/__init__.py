"""Answering a question, one way: question → search query → passages → evidence → covered? → reply → checks.

Owns the flow (`pipeline`: prepare_context, then answer_stream), hybrid retrieval over the index store
(`retrieval`), the evidence sentences the model reads (`evidence`), the decision to refuse before any model
call (`coverage`), the pluggable answer step (`generation`: the local model, an OpenAI-compatible server,
or the extractive mode), the checks after generation (`checks`), citation markers (`citations`) and the
prompts (`prompts/`, templates in .txt files).

May import `assistant.text`, `config`, `errors`, `results`, `assistant.models`, and the index through
`assistant.indexing.store` and `keyword_index` (reading only); never `ui` or `evaluation`.
"""
