"""`assistant eval`: the questions file, deterministic metrics, the runner, the plain LlamaIndex peer, the
ragas judge and the reports; bench/ uses its metrics too.

Answers through the public `Assistant`; builds the peer and the judge from `assistant.models`; reads
`answering.citations` for the citation checks and `answering.checks` for what counts as a refusal.
"""
