"""Fine-tune multilingual-e5-small as the span reader (torch; run where a GPU is, or slowly here).

    python -m qa.reader_train reader-train.npz --out DIR [--config 1e-4:3 2e-4:3 ...]

Reads the bundle :mod:`qa.reader_data` writes (tokenised examples and the packaged weights),
adds a start/end head to the encoder, trains every weight but the frozen 250k-row word table
on the non-dev examples, reports span F1 and no-answer accuracy on the dev examples, and
writes the trained tensors as int8 differences from the packaged weights (``reader-*.npz``
shards, :mod:`qa.reader_weights`) that :mod:`qa.reader` loads. Needs numpy and torch only (of
this package, the Q4 reader in :mod:`qa.encoders.e5_weights`), so it runs on a GPU machine
without the project installed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

HIDDEN, LAYERS, HEADS, EPS = 384, 12, 12, 1e-12


def load_bundle(path: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(examples, tensors by name) from the bundle."""
    from .encoders.e5_weights import dequantise_q4

    data = np.load(path)
    tensors: dict[str, np.ndarray] = {}
    for key in data.files:
        if key.startswith("w:"):
            tensors[key[2:]] = data[key].astype(np.float32)
        elif key.startswith("q4:"):
            name = key[3:]
            tensors[name] = dequantise_q4(data[key], *data[f"shape:{name}"])
    word = data["word_q4"]
    tensors["word"] = dequantise_q4(word, word.shape[0], HIDDEN)
    examples = {k: data[k] for k in ("ids", "mask", "passage_start", "start", "end", "dev", "set", "question")}
    return examples, tensors


def make_model(tensors: dict[str, np.ndarray]):
    import torch
    from torch import nn
    from torch.nn import functional as F

    def param(name: str) -> nn.Parameter:
        return nn.Parameter(torch.tensor(tensors[name]))

    class Layer(nn.Module):
        def __init__(self, p: str) -> None:
            super().__init__()
            self.w = nn.ParameterDict({n: param(p + n + ".w") for n in ("q", "k", "v", "ao", "fi", "fo")})
            self.b = nn.ParameterDict({n: param(p + n + ".b") for n in ("q", "k", "v", "ao", "fi", "fo")})
            self.norm = nn.ParameterDict({n + s[1:]: param(p + n + s) for n in ("aln", "oln") for s in (".w", ".b")})

        def forward(self, x, mask):
            b, length, _ = x.shape

            def heads(t):
                return t.view(b, length, HEADS, HIDDEN // HEADS).transpose(1, 2)

            q, k, v = (heads(F.linear(x, self.w[n], self.b[n])) for n in ("q", "k", "v"))
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2).reshape(b, length, HIDDEN)
            h = F.layer_norm(x + F.linear(ctx, self.w["ao"], self.b["ao"]), (HIDDEN,), self.norm["alnw"],
                             self.norm["alnb"], EPS)
            f = F.linear(F.gelu(F.linear(h, self.w["fi"], self.b["fi"])), self.w["fo"], self.b["fo"])
            return F.layer_norm(h + f, (HIDDEN,), self.norm["olnw"], self.norm["olnb"], EPS)

    class Reader(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word = nn.Embedding.from_pretrained(torch.tensor(tensors["word"]), freeze=True)
            self.pos = param("emb.pos")
            self.token_type = param("emb.type")
            self.ln_w, self.ln_b = param("emb.ln.w"), param("emb.ln.b")
            self.layers = nn.ModuleList(Layer(f"l{i}.") for i in range(LAYERS))
            head = tensors.get("head.w")
            self.head_w = nn.Parameter(torch.tensor(head) if head is not None else torch.randn(2, HIDDEN) * 0.02)
            self.head_b = nn.Parameter(torch.tensor(tensors["head.b"]) if head is not None else torch.zeros(2))

        def hidden(self, ids, mask):
            length = ids.shape[1]
            x = self.word(ids) + self.pos.view(-1, HIDDEN)[:length] + self.token_type[:HIDDEN]
            x = F.layer_norm(x, (HIDDEN,), self.ln_w, self.ln_b, EPS)
            attn = mask[:, None, None, :].bool()
            for layer in self.layers:
                x = layer(x, attn)
            return x

        def forward(self, ids, mask):
            logits = F.linear(self.hidden(ids, mask), self.head_w, self.head_b)
            return logits[..., 0], logits[..., 1]

    return Reader()


def allowed(mask, passage_start):
    """Where an answer may start or end: <s> (no answer) and the passage's tokens."""
    import torch

    positions = torch.arange(mask.shape[1], device=mask.device)[None, :]
    return ((positions >= passage_start[:, None]) & (mask > 0)) | (positions == 0)


def train(examples: dict[str, np.ndarray], tensors: dict[str, np.ndarray], epochs: float, lr: float,
          batch: int, device: str, seed: int = 0, log=print):
    import torch
    from torch.nn import functional as F

    torch.manual_seed(seed)
    model = make_model(tensors).to(device)
    rows = np.flatnonzero(examples["dev"] == 0)
    steps = math.ceil(len(rows) * epochs / batch)
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))))
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(rows) for _ in range(math.ceil(epochs) + 1)])
    model.train()
    started = time.perf_counter()
    for step in range(steps):
        pick = order[step * batch : (step + 1) * batch]
        ids, mask, first, start, end = (torch.tensor(examples[k][pick].astype(np.int64), device=device)
                                        for k in ("ids", "mask", "passage_start", "start", "end"))
        width = int(mask.sum(1).max())
        ids, mask = ids[:, :width], mask[:, :width]
        with torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16,
                            enabled=device.startswith("cuda")):
            s_logits, e_logits = model(ids, mask)
        ok = allowed(mask, first)
        s_logits = s_logits.float().masked_fill(~ok, -1e4)
        e_logits = e_logits.float().masked_fill(~ok, -1e4)
        loss = (F.cross_entropy(s_logits, start) + F.cross_entropy(e_logits, end)) / 2
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimiser.step()
        schedule.step()
        if step % 200 == 0 or step == steps - 1:
            log(f"step {step + 1}/{steps} loss {loss.item():.3f} ({time.perf_counter() - started:.0f} s)")
    return model


def predict(model, examples: dict[str, np.ndarray], rows: np.ndarray, device: str, max_answer: int = 40,
            batch: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(best span start, end, span score − no-answer score) for each row."""
    import torch

    model.eval()
    out_s, out_e, out_margin = [], [], []
    with torch.no_grad():
        for i in range(0, len(rows), batch):
            pick = rows[i : i + batch]
            ids, mask, first = (torch.tensor(examples[k][pick].astype(np.int64), device=device)
                                for k in ("ids", "mask", "passage_start"))
            s_logits, e_logits = (t.float() for t in model(ids, mask))
            null = s_logits[:, 0] + e_logits[:, 0]
            ok = allowed(mask, first)
            ok[:, 0] = False
            s_logits = s_logits.masked_fill(~ok, -1e4)
            e_logits = e_logits.masked_fill(~ok, -1e4)
            scores = s_logits[:, :, None] + e_logits[:, None, :]
            length = scores.shape[1]
            band = torch.ones(length, length, dtype=torch.bool, device=device).triu().tril(max_answer - 1)
            scores = scores.masked_fill(~band, -1e4)
            best = scores.view(len(pick), -1).argmax(1)
            s, e = best // length, best % length
            out_s.append(s.cpu().numpy())
            out_e.append(e.cpu().numpy())
            out_margin.append((scores.view(len(pick), -1).max(1).values - null).cpu().numpy())
    return np.concatenate(out_s), np.concatenate(out_e), np.concatenate(out_margin)


def dev_report(model, examples: dict[str, np.ndarray], device: str) -> dict:
    """Token-level span F1 on dev passages that hold the answer; no-answer accuracy on the rest
    (margin < 0 means the reader says "not here")."""
    rows = np.flatnonzero(examples["dev"] == 1)
    if not len(rows):
        return {}
    s, e, margin = predict(model, examples, rows, device)
    gold_s, gold_e = examples["start"][rows], examples["end"][rows]
    has = gold_s > 0
    overlap = np.maximum(0, np.minimum(e, gold_e) - np.maximum(s, gold_s) + 1)
    precision = overlap / (e - s + 1)
    recall = overlap / np.maximum(1, gold_e - gold_s + 1)
    f1 = np.where(overlap > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-9), 0.0)
    # Per answerable question, as the assistant answers it: the span of the passage whose margin
    # is highest (threshold-free: the abstain threshold is fitted afterwards, qa.reader_fit).
    question = examples["question"][rows]
    picked: dict[int, int] = {}
    for i, q in enumerate(question):
        if q not in picked or margin[i] > margin[picked[q]]:
            picked[q] = i
    answerable = {q for q, h in zip(question, has) if h}
    question_f1 = float(np.mean([f1[picked[q]] if has[picked[q]] else 0.0 for q in answerable])) if answerable else 0.0
    return {"dev_passages": int(len(rows)), "question_f1": question_f1, "span_f1": float(f1[has].mean()),
            "span_exact": float(((s == gold_s) & (e == gold_e))[has].mean()),
            "answer_found": float((margin[has] > 0).mean()), "no_answer_said": float((margin[~has] <= 0).mean())}


def save(model, out: Path, tensors: dict[str, np.ndarray], base_sha256: str) -> list[Path]:
    """The trained tensors (all but the word table), named as in the packaged file, as int8
    differences from the packaged ``tensors`` they started from (:mod:`qa.reader_weights`)."""
    from .reader_weights import pack
    from .reader_weights import save as save_shards

    state = {"emb.pos": model.pos, "emb.type": model.token_type, "emb.ln.w": model.ln_w, "emb.ln.b": model.ln_b,
             "head.w": model.head_w, "head.b": model.head_b}
    for i, layer in enumerate(model.layers):
        for n in ("q", "k", "v", "ao", "fi", "fo"):
            state[f"l{i}.{n}.w"], state[f"l{i}.{n}.b"] = layer.w[n], layer.b[n]
        for n in ("aln", "oln"):
            state[f"l{i}.{n}.w"], state[f"l{i}.{n}.b"] = layer.norm[n + "w"], layer.norm[n + "b"]
    arrays = {k: v.detach().float().cpu().numpy() for k, v in state.items()}
    return save_shards(pack(arrays, tensors.__getitem__), out, base_sha256)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--config", nargs="+", default=["1e-4:3"], metavar="LR:EPOCHS",
                        help="settings to try in turn; the best on the dev questions is kept")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--limit", type=int, default=0, help="train on this many examples only (a smoke test)")
    parser.add_argument("--device", default="")
    args = parser.parse_args(argv)
    with np.load(args.bundle) as bundle:  # before hours of training, not after
        if "base_sha256" not in bundle.files:
            parser.error(f"{args.bundle} predates the packed reader weights: rebuild it (make reader-data)")
        base_sha256 = str(bundle["base_sha256"])
    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    examples, tensors = load_bundle(args.bundle)
    if args.limit:
        examples = {k: v[: args.limit] for k, v in examples.items()}
    results, best = [], None
    for config in args.config:
        lr, epochs = (float(x) for x in config.split(":"))
        model = train(examples, tensors, epochs, lr, args.batch, device)
        report = {"lr": lr, "epochs": epochs, "examples": int((examples["dev"] == 0).sum()),
                  **dev_report(model, examples, device)}
        print(json.dumps(report), flush=True)
        results.append(report)
        if best is None or report.get("question_f1", 0) > best.get("question_f1", 0):
            best = report
            save(model, args.out, tensors, base_sha256)  # at once: a run cut short still leaves its best model
        (args.out / "training.json").write_text(json.dumps({"chosen": best, "tried": results}, indent=1))
    print("chosen", json.dumps(best))
    return 0


if __name__ == "__main__":
    sys.exit(main())
