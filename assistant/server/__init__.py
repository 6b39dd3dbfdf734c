"""What `assistant serve` runs: one web server on one port with the browser chat (ui/) at / and the HTTP
API for other tools (`http_api`) at /v1, its OpenAPI docs at /docs.

Uses the public `Assistant` and the chat's page; nothing below it reaches into the pipelines.
"""
