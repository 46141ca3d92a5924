#!/usr/bin/env python3
"""Reference encoders for `tandem bench embed`: the same model through ONNX Runtime fp32 and
through PyTorch (sentence-transformers), on the same CSV column, printing one JSON object.

Both use the strongest ordinary setup: sentences sorted by length and batched 32 at a time
(padding only to the longest in each batch), all cores. Needs a Python environment with
`onnxruntime onnx torch sentence-transformers` (see `make bench-reference`).
"""
import argparse, csv, json, os, statistics, sys, tempfile, time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def load_texts(path, column):
    with open(path, newline="", encoding="utf-8") as f:
        return [row[column] for row in csv.DictReader(f)]


def quantile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(q * len(values) + 0.5)) - 1))]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--input", required=True)
    p.add_argument("--column", default="text")
    p.add_argument("--model-dir", required=True)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--latency-samples", type=int, default=500)
    args = p.parse_args()

    import numpy as np
    import torch
    import onnxruntime as ort
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    texts = load_texts(args.input, args.column)
    model = SentenceTransformer(args.model_dir, device="cpu")
    tokenizer = model.tokenizer
    max_len = model.max_seq_length
    report = {"sentences": len(texts), "threads": args.threads, "batch_size": args.batch_size,
              "versions": {"torch": torch.__version__, "onnxruntime": ort.__version__}}

    # PyTorch through sentence-transformers, as a data scientist would call it.
    model.encode(texts[:64], batch_size=args.batch_size)
    t = time.perf_counter()
    reference = model.encode(texts, batch_size=args.batch_size, convert_to_numpy=True)
    seconds = time.perf_counter() - t
    report["pytorch"] = {"seconds": seconds, "sentences_per_second": len(texts) / seconds}
    lat = []
    for text in texts[: args.latency_samples]:
        t = time.perf_counter(); model.encode([text]); lat.append((time.perf_counter() - t) * 1000)
    report["pytorch"].update({"p50_ms": statistics.median(lat), "p99_ms": quantile(lat, 0.99)})

    # ONNX Runtime fp32: export the transformer, pool and normalise in numpy.
    class Transformer(torch.nn.Module):
        # Keyword arguments: positional order of BertModel.forward differs across versions.
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    bert = Transformer(model[0].auto_model.eval())
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        dummy = tokenizer(["hello world"], return_tensors="pt")
        torch.onnx.export(
            bert, (dummy["input_ids"], dummy["attention_mask"], dummy["token_type_ids"]), path,
            input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "seq"} for n in ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]},
            opset_version=17, dynamo=False)
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

        def encode(batch):
            enc = tokenizer(batch, padding=True, truncation=True, max_length=max_len, return_tensors="np")
            out = session.run(None, {"input_ids": enc["input_ids"].astype(np.int64),
                                     "attention_mask": enc["attention_mask"].astype(np.int64),
                                     "token_type_ids": enc["token_type_ids"].astype(np.int64)})[0]
            mask = enc["attention_mask"][..., None].astype(np.float32)
            pooled = (out * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
            return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

        def encode_all(items):
            order = sorted(range(len(items)), key=lambda i: -len(items[i]))
            out = [None] * len(items)
            for s in range(0, len(order), args.batch_size):
                idx = order[s:s + args.batch_size]
                for i, v in zip(idx, encode([items[i] for i in idx])):
                    out[i] = v
            return np.stack(out)

        encode_all(texts[:64])
        t = time.perf_counter()
        onnx = encode_all(texts)
        seconds = time.perf_counter() - t
        report["onnxruntime"] = {"seconds": seconds, "sentences_per_second": len(texts) / seconds,
                                 "max_abs_diff_vs_pytorch": float(np.abs(onnx - reference).max())}
        lat = []
        for text in texts[: args.latency_samples]:
            t = time.perf_counter(); encode([text]); lat.append((time.perf_counter() - t) * 1000)
        report["onnxruntime"].update({"p50_ms": statistics.median(lat), "p99_ms": quantile(lat, 0.99)})
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    sys.exit(main())
