"""Measuring answers: the questions file, deterministic metrics, and runners used by bench/ and eval."""
