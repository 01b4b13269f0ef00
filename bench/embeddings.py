"""Embedding benchmark: our bulk/query encoder (``ai.embeddings``) against plain sentence-transformers.

``run()`` encodes ~1,000 deterministic, realistic product texts (~90 word pieces each, built with
``ai.embeddings.product_text``) twice, once with a plain ``SentenceTransformer(path).encode(texts)`` (the
fp32 reference) and once with ``ai.embeddings.encode``, and reports throughput (docs/s), the speed ratio,
the cosine of our vectors to the reference (mean / min), and single-query latency p50/p99 for both paths.

``encode`` takes the bulk path ``ai.embeddings.bulk_path()`` picks for this CPU (``torch-bf16`` with AMX,
else ``onnx-int8``); ``VITRINE_ENCODER_BULK=onnx`` or ``bf16`` forces one, to measure the other. To see the
reference as a CPU without AVX-512 runs it, cap torch's kernels with ``ATEN_CPU_CAPABILITY=avx2
ONEDNN_MAX_CPU_ISA=AVX2`` (onnxruntime has no such switch: its int8 kernels still use AVX-512/AMX).

``BENCH_EMBED_DOCS`` (1,000) and ``BENCH_EMBED_QUERIES`` (200) size it. Run on its own with
``python -m bench.embeddings`` (prints the result as JSON).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import statistics
import time

import numpy as np

N_DOCS = 1000
N_QUERIES = 200
SEED = 20250801

# (department > category, product nouns, materials, typical attribute names)
_CATALOGUE = [
    ("Kitchen & Dining > Mugs", ["mug", "cup", "beaker"], ["stoneware", "porcelain", "enamel", "bone china"]),
    ("Kitchen & Dining > Coffee & Tea", ["pour-over dripper", "french press", "teapot", "milk frother",
                                         "coffee grinder"], ["ceramic", "borosilicate glass", "steel"]),
    ("Kitchen & Dining > Cookware", ["frying pan", "casserole dish", "saucepan", "wok", "griddle"],
     ["cast iron", "carbon steel", "copper", "stainless steel"]),
    ("Kitchen & Dining > Tableware", ["dinner plate", "serving bowl", "platter", "side plate"],
     ["stoneware", "porcelain", "melamine", "olive wood"]),
    ("Home & Living > Textiles", ["throw", "cushion cover", "table runner", "tea towel", "bath towel"],
     ["linen", "cotton", "merino wool", "alpaca"]),
    ("Home & Living > Lighting", ["table lamp", "pendant shade", "floor lamp", "candle holder"],
     ["brass", "rattan", "paper", "oak"]),
    ("Home & Living > Storage", ["storage basket", "shelf", "box", "coat rack"],
     ["seagrass", "walnut", "pine", "powder-coated steel"]),
    ("Garden & Outdoor > Tools", ["garden spade", "hand trowel", "pruning shears", "hori hori knife",
                                  "watering can"], ["carbon steel", "ash wood", "galvanised steel"]),
    ("Garden & Outdoor > Planters", ["planter", "window box", "plant pot", "hanging basket"],
     ["terracotta", "zinc", "fibre clay", "recycled plastic"]),
    ("Fashion > Bags", ["tote bag", "backpack", "crossbody bag", "weekender"],
     ["waxed canvas", "full-grain leather", "recycled nylon", "jute"]),
    ("Fashion > Knitwear", ["jumper", "cardigan", "beanie", "scarf"], ["merino wool", "cashmere", "cotton"]),
    ("Stationery > Notebooks", ["notebook", "sketchbook", "journal", "planner"],
     ["recycled paper", "cotton paper", "linen board"]),
    ("Beauty > Bath", ["soap bar", "bath salts", "body oil", "hand cream"],
     ["shea butter", "olive oil", "oat", "sea salt"]),
    ("Toys & Kids > Wooden Toys", ["stacking rings", "toy train", "puzzle", "building blocks"],
     ["beech", "maple", "birch plywood"]),
]
_ADJECTIVES = ["speckled", "hand-thrown", "matte", "glazed", "rustic", "minimal", "heavyweight", "compact",
               "oversized", "classic", "striped", "ribbed", "hammered", "brushed", "organic", "vintage-style",
               "lightweight", "sturdy", "handwoven", "recycled"]
_COLOURS = ["sand", "charcoal", "sage", "terracotta", "oat", "navy", "ochre", "forest green", "ivory",
            "rust", "slate blue", "natural", "black", "blush pink"]
_MAKERS = ["a small studio in Devon", "a family workshop in Porto", "artisans in Rajasthan",
           "a cooperative in Oaxaca", "a foundry in Sheffield", "a weaving mill in the Scottish Borders",
           "makers in Kyoto", "a pottery in Stoke-on-Trent"]
_SENTENCES = [
    "Made by {maker} from {material}, each one is slightly different.",
    "The {adj} finish is {colour} and works with almost any interior.",
    "Designed for everyday use, it is easy to clean and built to last for years.",
    "A thoughtful gift for anyone who loves well-made, {adj} things.",
    "Dishwasher safe and sized to sit comfortably in the hand.",
    "We tested it for months in our own homes before adding it to the shop.",
    "Pairs well with the rest of the {line} collection.",
    "Packed plastic-free and shipped carbon-neutral within two working days.",
    "Its proportions are generous without feeling bulky, and the weight is just right.",
    "Care: wipe with a damp cloth, avoid harsh detergents and dry thoroughly.",
]
_LINES = ["Harbour", "Fieldhouse", "Meadow", "Cove", "Ashdown", "Kiln", "Moorland", "Linden"]
_QUERY_TEMPLATES = [
    "{adj} {noun} in {colour}", "something to brew coffee by hand", "gift for a gardener under 40",
    "{material} {noun}", "cosy {noun} for winter", "a {noun} that lasts", "{colour} {noun}",
    "eco friendly {noun} made from {material}",
]


def product_texts(n: int = N_DOCS, seed: int = SEED) -> list[str]:
    """``n`` deterministic, realistic product texts of roughly 70–110 word pieces each."""
    from ai.embeddings import product_text

    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        category, nouns, materials = rng.choice(_CATALOGUE)
        noun, material = rng.choice(nouns), rng.choice(materials)
        adj, colour, line = rng.choice(_ADJECTIVES), rng.choice(_COLOURS), rng.choice(_LINES)
        maker = rng.choice(_MAKERS)
        fields = {"maker": maker, "material": material, "adj": adj, "colour": colour, "line": line}
        sentences = rng.sample(_SENTENCES, k=rng.randint(3, 5))
        description = f"A {adj} {noun} in {colour}. " + " ".join(s.format(**fields) for s in sentences)
        attributes = {"colour": colour, "material": material}
        if rng.random() < 0.6:
            attributes["size"] = rng.choice(["small", "medium", "large", "one size", "30 cm", "1.2 l"])
        title = f"{line} {adj.title()} {material.title()} {noun.title()}"
        texts.append(product_text(title, description, category, attributes))
    return texts


def queries(n: int = N_QUERIES, seed: int = SEED + 1) -> list[str]:
    """``n`` short search-box queries."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        _category, nouns, materials = rng.choice(_CATALOGUE)
        out.append(rng.choice(_QUERY_TEMPLATES).format(
            adj=rng.choice(_ADJECTIVES), noun=rng.choice(nouns), colour=rng.choice(_COLOURS),
            material=rng.choice(materials)))
    return out


def _cpu_isa(flags: frozenset[str]) -> str:
    for flag in ("amx_bf16", "avx512_vnni", "avx512f", "avx2"):
        if flag in flags:
            return flag
    return "other"


def _percentiles(samples_s: list[float]) -> tuple[float, float]:
    ms = np.asarray(samples_s) * 1000.0
    return round(float(np.percentile(ms, 50)), 2), round(float(np.percentile(ms, 99)), 2)


def run(n_docs: int | None = None, n_queries: int | None = None, rounds: int | None = None,
        chunk_size: int = 250) -> dict:
    """Benchmark ``ai.embeddings`` against plain sentence-transformers; returns a flat dict of figures.

    Bulk throughput is timed on ``chunk_size``-text calls of each path, interleaved, best of ``rounds``
    (env ``BENCH_EMBED_ROUNDS``, default 2) per chunk."""
    n_docs = n_docs or int(os.environ.get("BENCH_EMBED_DOCS", N_DOCS))
    n_queries = n_queries or int(os.environ.get("BENCH_EMBED_QUERIES", N_QUERIES))
    rounds = max(1, rounds or int(os.environ.get("BENCH_EMBED_ROUNDS", "2")))
    import torch
    from sentence_transformers import SentenceTransformer

    from ai import embeddings

    texts = product_texts(n_docs)
    qs = queries(n_queries)
    tokenizer = embeddings._tokenizer()
    token_counts = [len(e.ids) for e in tokenizer.encode_batch(texts)]

    # Our encoder: warm up (loads the session; exports the ONNX model first if it is not cached yet).
    t0 = time.perf_counter()
    embeddings.warm_up()
    warm_up_s = time.perf_counter() - t0
    embeddings.encode(texts[:64])

    # The reference: a plain SentenceTransformer, default settings, same texts, same process.
    reference_model = SentenceTransformer(str(embeddings.model_path()), device="cpu")
    reference_model.encode(texts[:32], show_progress_bar=False)

    # The machine is shared (2 cores; other processes come and go), so interleave the two paths chunk by
    # chunk and keep, per chunk, each path's best of ``rounds``: a burst of load then hits both sides alike
    # instead of one whole run.
    chunks = [texts[i : i + chunk_size] for i in range(0, n_docs, chunk_size)]
    ours_s, reference_s = [float("inf")] * len(chunks), [float("inf")] * len(chunks)
    ours_parts, reference_parts = [None] * len(chunks), [None] * len(chunks)
    for _ in range(rounds):
        for i, chunk in enumerate(chunks):
            t0 = time.perf_counter()
            ours_parts[i] = embeddings.encode(chunk)
            ours_s[i] = min(ours_s[i], time.perf_counter() - t0)
            t0 = time.perf_counter()
            reference_parts[i] = reference_model.encode(chunk, convert_to_numpy=True, show_progress_bar=False)
            reference_s[i] = min(reference_s[i], time.perf_counter() - t0)
    ours = np.concatenate(ours_parts)
    reference = np.concatenate(reference_parts)
    reference = reference / np.linalg.norm(reference, axis=1, keepdims=True)

    cosines = np.sum(ours * reference, axis=1)

    def encode_reference_query(q):
        return reference_model.encode([q], convert_to_numpy=True, show_progress_bar=False)

    # Queries in blocks of 50 per path, alternating: not one by one, because onnxruntime's and torch's
    # worker threads spin for a moment after each call and would steal the other path's cores.
    ours_q, ref_q = [], []
    for start in range(0, len(qs), 50):
        block = qs[start : start + 50]
        for encode_one, samples in ((embeddings.encode_query, ours_q), (encode_reference_query, ref_q)):
            for q in block[:5]:
                encode_one(q)
            for q in block:
                t = time.perf_counter()
                encode_one(q)
                samples.append(time.perf_counter() - t)
    query_cos = np.sum(
        np.stack([embeddings.encode_query(q) for q in qs])
        * embeddings.reference_encode(qs), axis=1)

    export_s = None
    if embeddings.backend() == embeddings.BACKEND_ONNX:  # recorded by the export that made the cached file
        meta = embeddings.onnx_model_file().with_suffix(".json")
        with contextlib.suppress(OSError, ValueError):
            export_s = json.loads(meta.read_text()).get("export_seconds")

    ours_p50, ours_p99 = _percentiles(ours_q)
    ref_p50, ref_p99 = _percentiles(ref_q)
    ours_dps = n_docs / sum(ours_s)
    ref_dps = n_docs / sum(reference_s)
    return {
        "model_version": embeddings.model_version(),
        "backend": embeddings.backend(),
        "bulk_path": getattr(embeddings._encoder(), "bulk", None),
        "cpu_isa": _cpu_isa(embeddings.cpu_flags()),
        "torch_isa_caps": {k: os.environ[k] for k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")
                           if k in os.environ},
        "docs": n_docs,
        "tokens_mean": round(statistics.mean(token_counts), 1),
        "tokens_min": min(token_counts),
        "tokens_max": max(token_counts),
        "torch_threads": torch.get_num_threads(),
        "onnx_threads": embeddings._threads(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "rounds": rounds,
        "chunk_size": chunk_size,
        "warm_up_s": round(warm_up_s, 2),
        "export_s": export_s,
        "reference_docs_per_s": round(ref_dps, 1),
        "ours_docs_per_s": round(ours_dps, 1),
        "speedup": round(ours_dps / ref_dps, 2),
        "cosine_mean": round(float(cosines.mean()), 4),
        "cosine_min": round(float(cosines.min()), 4),
        "query_cosine_mean": round(float(query_cos.mean()), 4),
        "query_cosine_min": round(float(query_cos.min()), 4),
        "reference_query_p50_ms": ref_p50,
        "reference_query_p99_ms": ref_p99,
        "ours_query_p50_ms": ours_p50,
        "ours_query_p99_ms": ours_p99,
    }


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vitrine.settings")
    django.setup()
    print(json.dumps(run(), indent=2))
