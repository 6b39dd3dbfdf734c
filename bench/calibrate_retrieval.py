"""Measure retrieval over eval_questions.yaml for several chunk sizes, and the abstention margin.

    .venv/bin/python bench/calibrate_retrieval.py [--sizes 50,70,90,120,160] [--k 4]

For each chunk size: hit@k (a supporting article among the top k), fact recall (required facts present
in the passages) and the words the model would read. Then, for the chosen settings, the best passage's
cosine similarity for answerable vs. unanswerable questions: the abstention threshold goes in the gap.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import yaml

from assistant import Assistant


def fact_present(fact: str | list[str], text: str) -> bool:
    options = fact if isinstance(fact, list) else [fact]
    return any(o.lower() in text.lower() for o in options)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50,70,90,120,160")
    parser.add_argument("--overlaps", default="0,1")
    parser.add_argument("--k", type=int, default=4)
    args = parser.parse_args()
    questions = yaml.safe_load(Path("eval_questions.yaml").read_text())
    answerable = [q for q in questions if q["sources"]]
    refused = [q for q in questions if not q["sources"]]
    print(f"{len(answerable)} answerable, {len(refused)} unanswerable questions; k={args.k}")
    print(f"{'words':>5} {'overlap':>7} {'chunks':>6} {'hit@k':>6} {'facts':>6} {'prompt words':>12}")
    for size in map(int, args.sizes.split(",")):
        for overlap in map(int, args.overlaps.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                a = Assistant(
                    index_dir=tmp, chunk_words=size, chunk_overlap_sentences=overlap, llm="extractive"
                )
                report = a.ingest()
                hits, facts, words = 0, 0, []
                for q in answerable:
                    passages = a.retrieve(q["question"], k=args.k)
                    hits += any(p.doc_id in q["sources"] for p in passages)
                    text = " ".join(p.text for p in passages)
                    facts += all(fact_present(f, text) for f in q["facts"])
                    words.append(len(text.split()))
                n = len(answerable)
                print(
                    f"{size:>5} {overlap:>7} {report.chunks:>6} {hits / n:>6.2f} {facts / n:>6.2f} "
                    f"{statistics.median(words):>12.0f}"
                )
    with tempfile.TemporaryDirectory() as tmp:
        a = Assistant(index_dir=tmp, llm="extractive")
        a.ingest()
        best = {q["id"]: max(p.score for p in a.retrieve(q["question"], k=args.k)) for q in questions}
    print(f"\nbest-passage cosine, chunk_words={a.settings.chunk_words}:")
    ans = [best[q["id"]] for q in answerable]
    ref = [best[q["id"]] for q in refused]
    print(f"  answerable  : min {min(ans):.3f}  median {statistics.median(ans):.3f}")
    print(f"  unanswerable: max {max(ref):.3f}  median {statistics.median(ref):.3f}")
    for q in sorted(questions, key=lambda q: best[q["id"]]):
        print(f"  {best[q['id']]:.3f} {'ANS' if q['sources'] else '---'} {q['question'][:80]}")


if __name__ == "__main__":
    main()
