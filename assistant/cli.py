"""The `assistant` command: ingest, ask, chat (terminal), serve. Heavy imports wait until they are needed."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .config import LLM_CHOICES

if TYPE_CHECKING:
    from .api import Assistant
    from .indexing.ingest import IngestReport
    from .results import Answer, Citation, Passage

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def _common_options(subcommand: bool) -> argparse.ArgumentParser:
    # On a subcommand the options must not reset what was given before it: SUPPRESS their defaults.
    default = argparse.SUPPRESS if subcommand else None
    common = argparse.ArgumentParser(add_help=False, argument_default=default)
    common.add_argument(
        "--corpus", metavar="DIR", help="folder of articles (ASSISTANT_CORPUS_DIR; docs_corpus)"
    )
    common.add_argument("--index", metavar="DIR", help="index folder (ASSISTANT_INDEX_DIR; index)")
    common.add_argument(
        "--chroma-url",
        metavar="URL",
        help="a shared index on this Chroma server instead of --index, e.g. http://127.0.0.1:8000 "
        "(ASSISTANT_CHROMA_URL)",
    )
    common.add_argument("--llm", choices=LLM_CHOICES, help="who writes answers (ASSISTANT_LLM; local)")
    common.add_argument("--top-k", type=int, metavar="N", help="passages per answer (ASSISTANT_TOP_K; 4)")
    common.add_argument(
        "--evidence-words",
        type=int,
        metavar="N",
        help="words of best sentences the model reads, 0: whole passages (ASSISTANT_EVIDENCE_WORDS; 90)",
    )
    common.add_argument(
        "--model", metavar="NAME", help="OpenAI/compatible model name (ASSISTANT_OPENAI_MODEL)"
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_options(subcommand=True)
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Cited answers to questions about a folder of news articles.",
        parents=[_common_options(subcommand=False)],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("ingest", parents=[common], help="build or update the index from the corpus folder")
    add = sub.add_parser(
        "add", parents=[common], help="fetch an article page, or every item of an RSS/Atom feed, and index it"
    )
    add.add_argument("url", help="an http:// or https:// link to an article page or a feed")
    ask = sub.add_parser("ask", parents=[common], help="answer one question")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the whole Answer as JSON")
    sub.add_parser("chat", parents=[common], help="ask questions in the terminal, with follow-ups")
    ev = sub.add_parser(
        "eval", parents=[common], help="score answers on eval_questions.yaml, with a peer baseline"
    )
    ev.add_argument("--questions", default="eval_questions.yaml", metavar="FILE")
    ev.add_argument(
        "--results", default="eval_results", metavar="DIR", help="where reports go (eval_results)"
    )
    ev.add_argument("--limit", type=int, metavar="N", help="only the first N (selected) questions")
    ev.add_argument("--only", metavar="KINDS", help="comma-separated kinds or ids, e.g. single,unanswerable")
    ev.add_argument(
        "--half", choices=("dev", "test"), help="only one half (the file's rule; tune on dev, judge on test)"
    )
    ev.add_argument(
        "--judge", choices=("local", "openai", "none"), help="ragas judge (openai with a key, else local)"
    )
    ev.add_argument(
        "--metrics", metavar="LIST", help="ragas metrics (local judge: faithfulness; openai: all four)"
    )
    ev.add_argument("--no-peer", action="store_true", help="skip the plain LlamaIndex baseline")
    ev.add_argument(
        "--save-baseline", metavar="FILE", help="also write our scores as a baseline (eval_baseline.json)"
    )
    serve = sub.add_parser("serve", parents=[common], help="the chat in a browser at http://127.0.0.1:7860")
    serve.add_argument("--host", help="address to listen on (ASSISTANT_HOST; 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (ASSISTANT_PORT; 7860)")
    serve.add_argument(
        "--no-auth",
        action="store_true",
        default=None,
        help="serve beyond 127.0.0.1 with no login, open to all who reach it (ASSISTANT_NO_AUTH)",
    )
    model = sub.add_parser(
        "model-server", help="serve the packaged model OpenAI-style, for several assistant processes to share"
    )
    model.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    model.add_argument("--port", type=int, default=8080, help="port (8080)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .errors import AssistantError

    try:
        return _run(args)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run(args: argparse.Namespace) -> int:
    from . import Assistant

    if args.command == "model-server":
        return _model_server(args.host, args.port)

    assistant = Assistant(
        corpus_dir=args.corpus,
        index_dir=args.index,
        chroma_url=args.chroma_url,
        llm=args.llm,
        top_k=args.top_k,
        evidence_words=args.evidence_words,
        openai_model=args.model,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        no_auth=getattr(args, "no_auth", None),
    )
    if args.command == "ingest":
        return _ingest(assistant)
    if args.command == "add":
        return _add(assistant, args.url)
    if args.command == "ask":
        _ask(assistant, args.question, as_json=args.json)
        return 0
    if args.command == "chat":
        return _chat(assistant)
    if args.command == "eval":
        return _eval(assistant, args)
    return _serve(assistant)


def _serve(assistant: Assistant) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from .server.access import Access

    Access(assistant.settings).check()  # a login half set, an open server beyond 127.0.0.1: before any work
    pool = ThreadPoolExecutor(max_workers=1)
    # llama.cpp loads the model and reads the fixed prompt in C, without the GIL, while Python checks
    # the index, imports Gradio, builds the page and opens the index and the embedding model (one after
    # the other is slower to be ready: docs/design.md, "Measurements behind the code").
    warming = pool.submit(assistant.warm_up_model)
    try:
        _print_report(assistant.ingest(), "index: ")
        from .server.app import serve

        # Ready once the index and embedding model are open and the model is warm (its error, if any,
        # raised here); warm_up() would have llama.cpp read the fixed prompt a second time.
        def ready() -> None:
            assistant.open_index()
            warming.result()

        serve(assistant, ready)
    finally:
        pool.shutdown(wait=False)  # an ingest error is shown now, not once the model has loaded
    return 0


def _model_server(host: str, port: int) -> int:
    """llama-cpp-python's server with the packaged model, in the foreground until Ctrl-C."""
    import signal
    import subprocess

    from .config import Settings
    from .models import model_server
    from .server.access import is_local

    # SIGTERM (how a service manager stops it) must stop the model process too, as Ctrl-C does: its default
    # ended this process alone, and the llama.cpp server went on holding the port and the model's memory.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    process = subprocess.Popen(model_server.command(Settings.from_env(), host, port))
    try:
        model_server.wait_until_ready(process, host, port)
        url = f"http://{host}:{port}/v1"
        print(f"Model server ready at {url}. In each assistant process: OPENAI_BASE_URL={url}", flush=True)
        if not is_local(host):
            print("warning: it has no login: keep it on a private network", file=sys.stderr)
        return process.wait()
    finally:
        model_server.stop(process, model_server.STOP_SECONDS)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """Raise SystemExit (128 + SIGTERM, the shell's code for it), so that `finally` blocks run."""
    raise SystemExit(128 + signum)


def _ingest(assistant: Assistant) -> int:
    _print_report(assistant.ingest(progress=sys.stderr.isatty()))
    return 0


def _add(assistant: Assistant, url: str) -> int:
    """Fetch the link into the corpus and index it; one line for each article it brought."""
    report = assistant.add_url(url, progress=sys.stderr.isatty())
    articles = assistant.articles()
    for doc_id in report.fetched:
        entry = articles.get(doc_id)
        if entry is not None:
            print(f"fetched: {doc_id}: {entry.title} ({entry.published or 'undated'}, "
                  f"{entry.outlet or 'no outlet named'})")  # fmt: skip
    _print_report(report)
    return 0


def _print_report(report: IngestReport, label: str = "") -> None:
    """Files skipped and notes (an index rebuilt, ...) on stderr, then the summary."""
    for reason in report.skipped.values():
        print(f"skipped: {reason}", file=sys.stderr)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    print(label + report.summary(), flush=True)


def _ask(
    assistant: Assistant, question: str, as_json: bool = False, history: list[dict[str, str]] | None = None
) -> Answer:
    """Print the answer (streamed on a terminal) and its sources, or the whole Answer as JSON."""
    from .results import Answer

    live = sys.stdout.isatty() and not as_json
    answer = None
    for event in assistant.stream(question, history):
        if isinstance(event, Answer):
            answer = event
        elif live:
            print(event, end="", flush=True)
    assert answer is not None
    if as_json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        return answer
    print("\r\033[K" + answer.text if live else answer.text)
    print(format_sources(answer))
    return answer


def _eval(assistant: Assistant, args: argparse.Namespace) -> int:
    from pathlib import Path

    from .errors import AssistantError
    from .evaluation.command import EvalOptions, run_eval
    from .evaluation.judge import METRICS

    metrics = tuple(m.strip() for m in args.metrics.split(",")) if args.metrics else None
    unknown = set(metrics or ()) - set(METRICS)
    if unknown:
        raise AssistantError(
            f"unknown metric(s) {', '.join(sorted(unknown))}: choose from {', '.join(METRICS)}"
        )
    options = EvalOptions(
        questions=Path(args.questions),
        results_dir=Path(args.results),
        limit=args.limit,
        only=tuple(k.strip() for k in args.only.split(",")) if args.only else (),
        judge=args.judge,
        metrics=metrics,
        peer=not args.no_peer,
        half=args.half,
    )
    report = run_eval(assistant, options)
    if args.save_baseline:
        from .evaluation.report import baseline_from_report

        Path(args.save_baseline).write_text(
            json.dumps(baseline_from_report(report), indent=1, default=str) + "\n"
        )
    print((Path(args.results) / "report.md").read_text().split("## Per question")[0])
    print(f"full report: {Path(args.results) / 'report.md'} (also results.json, scores.png)")
    return 0


def format_sources(answer: Answer) -> str:
    """The cited passages (or, for a refusal, the closest ones) below an answer in the terminal."""
    from .answering.citations import strip_markers

    items: list[tuple[int, Passage | Citation]]
    if answer.abstained:
        lines = ["", "Closest passages (they do not answer the question):"]
        items = list(enumerate(answer.passages, start=1))
    else:
        lines = ["", "Sources:"]
        items = [(c.marker, c) for c in answer.citations]
    for marker, p in items:
        excerpt = " ".join(p.text.split())
        excerpt = excerpt if len(excerpt) <= 160 else excerpt[:157] + "..."
        lines.append(f"  [{marker}] {p.title} ({p.doc_id}, chars {p.start}-{p.end}, relevance {p.score:.2f})")
        lines.append(f"      {excerpt}")
    if answer.left_out:
        lines.append(f"  (left out: {answer.left_out})")
    for removed in answer.removed:
        lines.append(f"  (removed: {strip_markers(removed.text)} — {removed.reason})")
    if answer.differ:
        lines.append(f"  (sources differ: [{answer.differ[0]}] and [{answer.differ[1]}])")
    if answer.search_query != answer.question:
        lines.append(f"  (searched for: {answer.search_query})")
    return "\n".join(lines)


def _chat(assistant: Assistant) -> int:
    print(
        f"Answers by {assistant.model}. Ask about the articles; an empty line or Ctrl-D ends.",
        file=sys.stderr,
    )
    from .errors import InvalidQuestionError

    history: list[dict] = []
    while True:
        try:
            question = input("\n> ")
        except EOFError:
            print(file=sys.stderr)
            return 0
        if not question.strip():
            return 0
        try:
            answer = _ask(assistant, question, history=history)
        except InvalidQuestionError as exc:
            print(f"error: {exc}", file=sys.stderr)
            continue
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]


if __name__ == "__main__":
    sys.exit(main())
