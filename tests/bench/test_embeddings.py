"""``python -m bench embeddings`` at a tiny size: our encoder and the plain sentence-transformers
reference still load, encode the same texts and queries, and agree. No timing is asserted here."""

from tests.bench.harness import run_benchmark

TINY = {"BENCH_EMBED_DOCS": "40", "BENCH_EMBED_QUERIES": "20", "BENCH_EMBED_ROUNDS": "1"}


def test_the_embeddings_benchmark_runs_end_to_end_at_a_tiny_size():
    report = run_benchmark("embeddings", TINY)

    assert (report["docs"], report["rounds"]) == (40, 1)
    assert report["model_version"].startswith("all-MiniLM-L6-v2/") and report["tokens_min"] > 0
    # Our vectors are the reference's, within what int8 quantisation costs (docs/benchmarks.md: ≥ 0.99 mean).
    assert report["cosine_mean"] >= 0.98 and report["cosine_min"] >= 0.95
    assert report["query_cosine_mean"] >= 0.98 and report["query_cosine_min"] >= 0.95
