"""The browser chat (Gradio): streaming cited answers beside their source cards, follow-ups, a corpus tab.

Owns the page (`app`) and its HTML (`render`). Uses the public `Assistant` only (prepare_context, then
answer_stream; status, add_files, remove_document), plus `text` and the result types for rendering.
"""
