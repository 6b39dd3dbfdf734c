"""The browser chat (Gradio): streaming cited answers, a sources panel, follow-ups, a corpus tab."""
