"""The embedding model in int8 beside today's torch path: `make bench-int8` (or .venv/bin/python
bench/embedding_int8.py [--copies 8] [--pairs 5]).

Issue 18 asks for embedding ≥ 2× faster with retrieval unchanged. This measures the candidate the issue names,
an ONNX Runtime export of the packaged all-MiniLM-L6-v2 with its weights quantized to int8 (dynamic, per
channel), against `assistant.models.minilm.MiniLM` in the same run, on the chunks ingest embeds (the
articles' chunks, `--copies` times), in pairs whose order alternates. Then what the int8 vectors do to
retrieval: dense hit@k over the eval's answerable questions, the overlap of the top k, the cosine between
each chunk's two vectors and the shift of the best passage's score (the abstention cut, `abstain_below`,
is set on it). Nothing is asserted; the product does not use the export (docs/benchmarks.md says why).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Settings  # noqa: E402
from assistant.evaluation.questions import load_questions  # noqa: E402
from assistant.indexing.chunking import chunk_document  # noqa: E402
from assistant.indexing.documents import list_corpus, load_document  # noqa: E402
from assistant.indexing.ingest import embedded_text  # noqa: E402
from assistant.models.embeddings import embedding_model_path  # noqa: E402
from assistant.models.minilm import MiniLM  # noqa: E402
from bench.run import ROWS, print_rows, row, timed  # noqa: E402


def export_int8(folder: Path, out: Path) -> Path:
    """The packaged model exported to ONNX (opset 17, eager attention: the SDPA export adds Where/IsNaN
    nodes that cost 10 % here) and its MatMul weights quantized to int8 per output channel."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import BertModel

    bert = BertModel.from_pretrained(str(folder), attn_implementation="eager").eval()

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, ids: Any, mask: Any) -> Any:
            out = self.bert(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids))
            return out.last_hidden_state

    fp32, int8 = out / "minilm.onnx", out / "minilm-int8.onnx"
    ids = torch.tensor([[101, 2000, 2001, 102]])
    axes = {
        "ids": {0: "batch", 1: "tokens"},
        "mask": {0: "batch", 1: "tokens"},
        "hidden": {0: "batch", 1: "tokens"},
    }
    torch.onnx.export(Hidden(), (ids, torch.ones_like(ids)), str(fp32), input_names=["ids", "mask"],
                      output_names=["hidden"], dynamic_axes=axes, opset_version=17, dynamo=False)  # fmt: skip
    # DefaultTensorType: shape inference leaves some MatMul outputs untyped; they are float.
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True,
                     extra_options={"DefaultTensorType": 1})  # fmt: skip
    return int8


class Int8MiniLM(MiniLM):
    """MiniLM's tokenizer, passes and pooling; the encoder run by ONNX Runtime on the int8 export."""

    def __init__(self, folder: Path, onnx_file: Path, threads: int) -> None:
        import onnxruntime

        super().__init__(folder)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )

    def hidden(self, ids: Any, mask: Any) -> Any:
        out = self.session.run(None, {"ids": ids.numpy(), "mask": mask.numpy()})[0]
        return self.torch.from_numpy(out)


def exact(name: str, value: float, target: str = "") -> None:
    """A figure to four places (row() gives two), with no p95 or baseline."""
    ROWS.append((name, f"{value:.4f}", "", "", "", target))
    print(f"  {name}: {value:.4f}", flush=True)


def main() -> None:
    import numpy as np
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=8, help="the articles' chunks, this many times over")
    parser.add_argument("--pairs", type=int, default=5, help="timed pairs, order alternating")
    args = parser.parse_args()
    settings = Settings.from_env()
    folder = Path(embedding_model_path())
    docs = [load_document(p) for p in list_corpus(settings.corpus_dir)]
    chunks = [
        c for d in docs for c in chunk_document(d, settings.chunk_words, settings.chunk_overlap_sentences)
    ]
    texts = [embedded_text(c) for c in chunks]
    today = MiniLM(folder)
    with tempfile.TemporaryDirectory() as tmp:
        print("exporting and quantizing the model", flush=True)
        int8 = Int8MiniLM(folder, export_int8(folder, Path(tmp)), torch.get_num_threads())
    for model in (today, int8):
        model.embed(["warm up"] * 8)
    batch = texts * args.copies
    base, fast = [], []
    for n in range(args.pairs):
        first, second = (today, int8) if n % 2 == 0 else (int8, today)
        a, b = timed(first.embed, batch), timed(second.embed, batch)
        base += a if first is today else b
        fast += b if first is today else a
    print(f"{len(batch)} chunks a pass, {torch.get_num_threads()} threads")
    row(
        f"embedding throughput, torch fp32 (today), {len(batch)} chunks",
        [len(batch) / t for t in base],
        "chunks/s",
    )
    row(
        "embedding throughput, ONNX Runtime int8",
        [len(batch) / t for t in fast],
        "chunks/s",
        [len(batch) / t for t in base],
        target="≥ 2× today",
    )
    ref, q8 = np.array(today.embed(texts)), np.array(int8.embed(texts))
    cosine = (ref * q8).sum(1)
    exact("cosine between a chunk's two vectors, mean", float(cosine.mean()))
    exact("cosine between a chunk's two vectors, min", float(cosine.min()))
    answerable = [q for q in load_questions(ROOT / "eval_questions.yaml") if q.answerable]
    k = settings.top_k
    hits = {"today": 0, "int8": 0}
    overlap, shift = [], []
    for q in answerable:
        picked, best = {}, {}
        for name, model, vectors in (("today", today, ref), ("int8", int8, q8)):
            scores = vectors @ np.array(model.embed([q.question])[0])  # cosines: the vectors are normalised
            picked[name] = {int(i) for i in scores.argsort()[::-1][:k]}
            best[name] = float(scores.max())
            hits[name] += any(chunks[i].doc_id in q.sources for i in picked[name])
        overlap.append(len(picked["today"] & picked["int8"]) / k)
        shift.append(abs(best["int8"] - best["today"]))
    n = len(answerable)
    exact(f"dense hit@{k}, today, {n} answerable questions", hits["today"] / n)
    exact(f"dense hit@{k}, int8", hits["int8"] / n, target="within 0.01 of today")
    exact(f"top-{k} chunks shared by both", statistics.mean(overlap))
    exact("best passage's score, abs(int8 − today), mean", statistics.mean(shift))
    exact("best passage's score, abs(int8 − today), max", max(shift))
    print_rows()


if __name__ == "__main__":
    main()
