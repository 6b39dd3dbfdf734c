"""The browser chat (Gradio): streaming cited answers beside their source cards, follow-ups, a corpus tab.

Owns the page (`app`) and its HTML (`render`). Uses the public `Assistant` only (prepare_context, then
answer_stream; status, articles, add_files, add_url, remove_document), plus `text`, the result types for
rendering and indexing.fetch's AddressPolicy (which addresses a link added in the corpus tab may lead to).
"""
