"""Answer generators: the embedded llama.cpp model, OpenAI or a compatible server, or no model at all."""
