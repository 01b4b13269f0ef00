"""ai.embeddings: product text assembly, the int8 ONNX encoder against the sentence-transformers reference,
and the fallback. The ONNX model is exported once into var/models and reused by later runs."""

import logging
import multiprocessing
import threading

import numpy as np
import pytest

from ai import embedding_export, embeddings

# -------------------------------------------------------------------------------------------- product_text


def test_product_text_assembles_parts_in_order():
    text = embeddings.product_text(
        "Speckled Stoneware Mug",
        "A hand-thrown mug with a speckled glaze.",
        "Kitchen & Dining > Mugs",
        {"colour": "sand", "material": "stoneware"},
    )
    assert text == (
        "Speckled Stoneware Mug. A hand-thrown mug with a speckled glaze. Kitchen & Dining > Mugs. "
        "colour: sand; material: stoneware"
    )


def test_product_text_category_list_and_attribute_formatting():
    text = embeddings.product_text(
        "Linen Throw",
        "Soft\n\n  and   warm.",
        ["Home & Living", "Textiles", "Throws"],
        {
            "colours": ["oat", "rust"],
            "machine_washable": True,
            "size": {"width": "130 cm", "length": "170 cm"},
            "empty": "",
            "none": None,
        },
    )
    assert text == (
        "Linen Throw. Soft and warm. Home & Living > Textiles > Throws. "
        "colours: oat, rust; machine washable: yes; size: width 130 cm, length 170 cm"
    )


def test_product_text_skips_empty_parts():
    assert embeddings.product_text("Trowel", "", "", {}) == "Trowel"
    assert embeddings.product_text("Trowel", "  ", [], None) == "Trowel"
    assert embeddings.product_text("Trowel", "", ["Garden", ""], {"x": ""}) == "Trowel. Garden"
    assert embeddings.product_text("Trowel", "", "", {"steel": "carbon"}) == "Trowel. steel: carbon"
    assert embeddings.product_text("Trowel!", "Why not?", "Garden.", {}) == "Trowel! Why not? Garden"


def test_product_text_trims_long_descriptions_keeping_title_first_and_tail_parts():
    description = "This is a very long sentence about the product. " * 100
    text = embeddings.product_text("Oak Shelf", description, "Home > Storage", {"material": "oak"})
    assert text.startswith("Oak Shelf. This is a very long sentence")
    assert text.endswith("about the product. Home > Storage. material: oak")
    assert ".." not in text
    unbroken = embeddings.product_text("Rug", "word " * 500, "", {})
    assert unbroken.endswith("word") and len(unbroken) <= len("Rug. ") + embeddings.DESCRIPTION_MAX_CHARS
    assert len(text) < embeddings.DESCRIPTION_MAX_CHARS + 100
    # The whole text still fits the model window, so the category and attributes are really seen.
    assert len(embeddings._tokenizer().encode(text).ids) < embeddings.MAX_SEQ_LENGTH


# ------------------------------------------------------------------------------------------------ encoders

PRODUCTS = [
    ("Speckled Stoneware Mug", "A hand-thrown mug with a speckled sand glaze.", "Kitchen & Dining > Mugs",
     {"colour": "sand", "material": "stoneware"}),
    ("Ceramic Pour-Over Coffee Dripper", "Brew a clean, bright cup of filter coffee by hand. Fits most mugs "
     "and carafes; uses size 02 paper filters.", "Kitchen & Dining > Coffee & Tea",
     {"colour": "white", "material": "ceramic"}),
    ("Carbon Steel Garden Spade", "A full-size digging spade with a forged carbon steel blade and an ash "
     "handle, for turning over heavy clay beds.", "Garden & Outdoor > Tools",
     {"material": "carbon steel", "handle": "ash"}),
    ("Merino Wool Beanie", "Rib-knit beanie in soft merino that keeps you warm on winter walks.",
     "Fashion > Knitwear", {"colour": "forest green", "size": "one size"}),
    ("Cast Iron Frying Pan", "Pre-seasoned 26 cm skillet that goes from hob to oven.", "Kitchen & Dining > "
     "Cookware", {"material": "cast iron", "diameter": "26 cm"}),
    ("Rattan Pendant Shade", "A woven rattan lampshade that casts warm, patterned light.",
     "Home & Living > Lighting", {"material": "rattan", "width": "40 cm"}),
    ("Terracotta Plant Pot", "Unglazed terracotta pot with a drainage hole and saucer.",
     "Garden & Outdoor > Planters", {"colour": "terracotta", "diameter": "18 cm"}),
    ("Waxed Canvas Tote", "A sturdy everyday tote with leather handles and an inside pocket.",
     "Fashion > Bags", {"colour": "olive", "material": "waxed canvas"}),
    ("Dot Grid Notebook", "A5 notebook with 160 pages of 100 gsm paper that takes fountain pen ink.",
     "Stationery > Notebooks", {"size": "A5", "pages": 160}),
    ("Oat Milk Soap Bar", "Gentle cold-process soap with oat milk and shea butter for sensitive skin.",
     "Beauty > Bath", {"weight": "100 g", "vegan": True}),
]
QUERIES = [
    "something to brew coffee by hand", "mug", "gift for a gardener", "warm hat for winter", "cast iron pan",
    "lamp", "plant pot with saucer", "bag for the weekend", "notebook for fountain pens", "soap for dry skin",
    "red", "", "a", "Ceramic pour over", "eco friendly kitchen gifts under £30", "oak shelf 80cm",
    "déco scandinave", "🌿 plants", "12345", "the best thing to dig clay soil with in a small allotment",
]


def _varied_texts() -> list[str]:
    """About 50 product-like texts: full products, partial ones, queries, and one far over 256 tokens."""
    texts = [embeddings.product_text(*p) for p in PRODUCTS]
    texts += [embeddings.product_text(title, "", category, {}) for title, _d, category, _a in PRODUCTS]
    texts += [f"{title}. {description}" for title, description, _c, _a in PRODUCTS]
    texts += QUERIES
    texts.append("Handwoven seagrass storage basket with handles, " * 60)
    return texts


@pytest.fixture(scope="module")
def onnx_encoder():
    """The default (int8 ONNX) encoder, loaded once for the module (exporting it into var/models only if it
    was never exported before)."""
    embeddings._reset()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(embeddings.ENV_BULK, "onnx")  # these tests are about the ONNX graph on any CPU
        assert embeddings.warm_up() == embeddings.MODEL_VERSIONS[embeddings.BACKEND_ONNX], (
            "the ONNX int8 encoder did not come up (see the warning logged by ai.embeddings)"
        )
    yield embeddings._encoder()
    embeddings._reset()


@pytest.fixture
def use_default_backend(monkeypatch, onnx_encoder):
    monkeypatch.delenv(embeddings.ENV_BACKEND, raising=False)
    embeddings._ENCODER = onnx_encoder
    yield onnx_encoder


@pytest.fixture
def fresh_encoder():
    """Each test with this fixture loads its own encoder; the module's ONNX one is restored afterwards."""
    previous = embeddings._ENCODER
    embeddings._reset()
    yield
    embeddings._ENCODER = previous


def test_encode_returns_normalised_float32(use_default_backend):
    vectors = embeddings.encode(_varied_texts()[:12])
    assert vectors.dtype == np.float32
    assert vectors.shape == (12, embeddings.DIMENSIONS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert embeddings.encode([]).shape == (0, embeddings.DIMENSIONS)
    with pytest.raises(TypeError):
        embeddings.encode("not a list")


def test_encode_restores_input_order_after_sorting_by_length(use_default_backend, monkeypatch):
    """Exact check of the sort/batch/restore logic: a fake session returns a vector derived from each row's
    own token ids, so any mix-up of rows shows."""
    encoder = use_default_backend
    texts = _varied_texts()
    seen_widths = []

    def fake_run(encodings):
        seen_widths.append(max(len(e.ids) for e in encodings))
        rows = np.zeros((len(encodings), embeddings.DIMENSIONS), dtype=np.float32)
        for row, e in enumerate(encodings):
            rows[row, sum(e.ids) % embeddings.DIMENSIONS] = 1.0
            rows[row, len(e.ids) % embeddings.DIMENSIONS] += 2.0
        return rows

    expected = fake_run([encoder.tokenizer.encode(t) for t in texts])
    seen_widths.clear()
    monkeypatch.setattr(encoder, "_run", fake_run)
    np.testing.assert_array_equal(embeddings.encode(texts, batch_size=8), expected)
    assert seen_widths == sorted(seen_widths)  # batches go shortest first: little padding


def test_encode_keeps_input_order_with_the_real_model(use_default_backend):
    """Each row of a bulk call is its own text's vector. Dynamic int8 quantises activations per batch
    tensor, so a text's vector moves slightly with the batch it shares (cosine ~0.99, not 0.999+; ~0.97 for
    the degenerate empty string): check closeness and that every row is nearest to its own text alone."""
    texts = _varied_texts()
    together = embeddings.encode(texts, batch_size=8)
    alone = np.stack([embeddings.encode([t])[0] for t in texts])
    similarity = together @ alone.T
    assert np.diag(similarity).mean() > 0.99
    assert np.diag(similarity).min() > 0.95
    np.testing.assert_array_equal(similarity.argmax(axis=1), np.arange(len(texts)))


def test_encode_query_matches_encode(use_default_backend):
    query = embeddings.encode_query("something to brew coffee by hand")
    assert query.shape == (embeddings.DIMENSIONS,) and query.dtype == np.float32
    assert float(query @ embeddings.encode(["something to brew coffee by hand"])[0]) > 0.999


def test_int8_onnx_is_close_to_sentence_transformers_reference(use_default_backend):
    texts = _varied_texts()
    assert len(texts) >= 50
    cosines = np.sum(embeddings.encode(texts) * embeddings.reference_encode(texts), axis=1)
    assert cosines.mean() >= 0.99, cosines
    assert cosines.min() >= 0.95, cosines


def test_semantic_sanity(use_default_backend):
    dripper, spade = (embeddings.product_text(*PRODUCTS[1]), embeddings.product_text(*PRODUCTS[2]))
    docs = embeddings.encode([dripper, spade])
    query = embeddings.encode_query("something to brew coffee by hand")
    assert query @ docs[0] > query @ docs[1] + 0.1
    garden = embeddings.encode_query("tool for digging the vegetable patch")
    assert garden @ docs[1] > garden @ docs[0] + 0.1


def test_model_version_and_cached_export_is_reused(use_default_backend, monkeypatch):
    assert embeddings.model_version() == "all-MiniLM-L6-v2/onnx-int8-v1"
    assert embeddings.backend() == embeddings.BACKEND_ONNX
    path = embeddings.onnx_model_file()
    assert path.exists() and path.parent == embeddings.model_dir()

    def must_not_export(target, **how):
        raise AssertionError("exported again although the model is cached")

    monkeypatch.setattr(embedding_export, "export_onnx", must_not_export)
    assert embeddings.ensure_onnx_model() == path


def test_model_dir_is_configurable(monkeypatch, tmp_path, settings):
    monkeypatch.setenv(embeddings.ENV_MODEL_DIR, str(tmp_path))
    assert embeddings.model_dir() == tmp_path
    monkeypatch.delenv(embeddings.ENV_MODEL_DIR)
    settings.VAR_DIR = tmp_path / "var"
    assert embeddings.model_dir() == tmp_path / "var" / "models"


def test_encode_is_thread_safe(use_default_backend):
    texts = [embeddings.product_text(*p) for p in PRODUCTS]
    expected = embeddings.encode(texts)
    results, errors = {}, []

    def worker(n):
        try:
            results[n] = embeddings.encode(texts[n:] + texts[:n])
        except Exception as exc:  # pragma: no cover - surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for n, got in results.items():
        np.testing.assert_allclose(got, np.roll(expected, -n, axis=0), atol=1e-5)


def _encode_in_child(queue):
    queue.put(embeddings.encode_query("something to brew coffee by hand"))


def test_forked_child_gets_its_own_session(use_default_backend):
    """Celery prefork / gunicorn fork after warm_up(): the child loads its own session and does not hang."""
    expected = embeddings.encode_query("something to brew coffee by hand")
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_encode_in_child, args=(queue,))
    child.start()
    try:
        got = queue.get(timeout=120)
    finally:
        child.join(timeout=30)
        if child.is_alive():  # pragma: no cover
            child.kill()
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert embeddings._encoder() is use_default_backend  # the parent's encoder is untouched


# ------------------------------------------------------------------------------------------------ fallback


def test_sentence_transformers_backend_selected_by_env(monkeypatch, fresh_encoder):
    monkeypatch.setenv(embeddings.ENV_BACKEND, "sentence-transformers")
    assert embeddings.model_version() == "all-MiniLM-L6-v2/st-fp32"
    texts = [embeddings.product_text(*p) for p in PRODUCTS[:3]]
    vectors = embeddings.encode(texts)
    assert vectors.dtype == np.float32 and vectors.shape == (3, embeddings.DIMENSIONS)
    np.testing.assert_allclose(vectors, embeddings.reference_encode(texts), atol=1e-5)
    many = _varied_texts()
    alone = np.stack([embeddings.encode([t])[0] for t in many])
    assert np.sum(embeddings.encode(many, batch_size=8) * alone, axis=1).min() > 0.999
    assert embeddings.encode_query("mug").shape == (embeddings.DIMENSIONS,)


def test_falls_back_to_sentence_transformers_when_onnx_fails(monkeypatch, fresh_encoder, caplog):
    monkeypatch.delenv(embeddings.ENV_BACKEND, raising=False)

    def broken(self):
        raise RuntimeError("onnxruntime is not available")

    monkeypatch.setattr(embeddings._OnnxEncoder, "__init__", broken)
    with caplog.at_level(logging.WARNING, logger="ai.embeddings"):
        assert embeddings.warm_up() == embeddings.MODEL_VERSIONS[embeddings.BACKEND_ST]
    assert "falling back to sentence-transformers" in caplog.text
    query = embeddings.encode_query("something to brew coffee by hand")
    np.testing.assert_allclose(np.linalg.norm(query), 1.0, atol=1e-5)


def test_failed_export_falls_back(monkeypatch, fresh_encoder, tmp_path, caplog):
    """An export that cannot be built (here: an unwritable/broken model dir) leaves the app working."""
    monkeypatch.delenv(embeddings.ENV_BACKEND, raising=False)
    monkeypatch.setenv(embeddings.ENV_MODEL_DIR, str(tmp_path / "models"))

    def failing_export(target, **how):
        raise OSError("disk full")

    monkeypatch.setattr(embedding_export, "export_onnx", failing_export)
    with caplog.at_level(logging.WARNING, logger="ai.embeddings"):
        assert embeddings.model_version() == "all-MiniLM-L6-v2/st-fp32"
    assert "disk full" in caplog.text


def test_the_vocabulary_is_the_tokenizers_whole_words_without_word_pieces():
    words = embeddings.vocabulary()
    assert {"boots", "lovers", "leather", "wallet"} <= words
    assert "lether" not in words and not any(word.startswith("#") or not word.isalpha() for word in words)


# ------------------------------------------------------------------------------------------- bulk path per CPU

AVX2_EPYC = "fpu sse4_2 avx avx2 fma bmi2"
AVX512_VNNI = AVX2_EPYC + " avx512f avx512bw avx512vl avx512_vnni"
SAPPHIRE_RAPIDS = AVX512_VNNI + " avx512_bf16 amx_bf16 amx_tile amx_int8"


@pytest.mark.parametrize(("flags", "expected"), [
    (AVX2_EPYC, embeddings.BULK_ONNX),
    (AVX512_VNNI, embeddings.BULK_ONNX),
    (AVX512_VNNI + " avx512_bf16", embeddings.BULK_ONNX),  # bf16 without AMX tiles: not measured faster
    (SAPPHIRE_RAPIDS, embeddings.BULK_BF16),
    ("", embeddings.BULK_ONNX),
])
def test_the_bulk_path_is_chosen_from_the_cpu_flags(monkeypatch, flags, expected):
    # given no override
    monkeypatch.delenv(embeddings.ENV_BULK, raising=False)
    # when the path is chosen for a CPU with these flags, then AMX bf16 CPUs get torch bf16, others ONNX int8
    assert embeddings.bulk_path(flags.split()) == expected


def test_the_bulk_path_can_be_forced_and_needs_torch_installed(monkeypatch, caplog):
    # given an AMX CPU
    flags = SAPPHIRE_RAPIDS.split()
    # when the env forces a path, then it wins over the flags; an unknown value is ignored with a warning
    monkeypatch.setenv(embeddings.ENV_BULK, "onnx")
    assert embeddings.bulk_path(flags) == embeddings.BULK_ONNX
    monkeypatch.setenv(embeddings.ENV_BULK, "bf16")
    assert embeddings.bulk_path(AVX2_EPYC.split()) == embeddings.BULK_BF16
    monkeypatch.setenv(embeddings.ENV_BULK, "fastest-please")
    with caplog.at_level(logging.WARNING, logger="ai.embeddings"):
        assert embeddings.bulk_path(flags) == embeddings.BULK_BF16
    assert "VITRINE_ENCODER_BULK" in caplog.text
    # and without torch installed the AMX CPU stays on ONNX
    monkeypatch.delenv(embeddings.ENV_BULK)
    monkeypatch.setattr(embeddings.importlib.util, "find_spec", lambda name: None)
    assert embeddings.bulk_path(flags) == embeddings.BULK_ONNX


def test_cpu_flags_are_read_from_the_first_processor(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Xeon\nflags\t\t: fpu avx2 amx_tile\n\n"
                       "processor\t: 1\nflags\t\t: fpu\n")
    assert embeddings.cpu_flags(str(cpuinfo)) == {"fpu", "avx2", "amx_tile"}
    assert embeddings.cpu_flags(str(tmp_path / "missing")) == frozenset()


@pytest.fixture(scope="module")
def bf16_encoder(onnx_encoder):
    """An ONNX encoder whose bulk calls take the torch bf16 path (runs on any CPU; fast only with AMX)."""
    return embeddings._OnnxEncoder(bulk=embeddings.BULK_BF16)


def test_bf16_bulk_path_is_close_to_fp32_keeps_order_and_labels_its_vectors(bf16_encoder, monkeypatch):
    # given the bf16 bulk path as this process's encoder
    monkeypatch.setattr(embeddings, "_ENCODER", bf16_encoder)
    texts = _varied_texts()
    # when many texts are encoded in small batches
    vectors = embeddings.encode(texts, batch_size=8)
    # then rows are unit float32 vectors, each within 0.99 cosine of its fp32 reference (in input order)
    assert vectors.dtype == np.float32 and vectors.shape == (len(texts), embeddings.DIMENSIONS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(vectors * embeddings.reference_encode(texts), axis=1)
    assert cosines.mean() >= 0.995 and cosines.min() >= 0.98, cosines
    # and stored vectors are labelled with the bf16 path, while queries still come from the ONNX graph
    assert embeddings.model_version() == "all-MiniLM-L6-v2/torch-bf16-v1"
    query = embeddings.encode_query(texts[0])
    np.testing.assert_array_equal(query, bf16_encoder._run([bf16_encoder.tokenizer.encode(texts[0])])[0])
    assert float(query @ vectors[0]) > 0.98


def test_bf16_bulk_path_falls_back_to_onnx_when_torch_fails(monkeypatch, caplog):
    # given a bf16 bulk encoder whose torch model cannot load
    encoder = embeddings._OnnxEncoder(bulk=embeddings.BULK_BF16)

    def broken():
        raise RuntimeError("no torch here")

    monkeypatch.setattr(embeddings, "_load_bf16_model", broken)
    texts = [embeddings.product_text(*p) for p in PRODUCTS]
    # when it encodes
    with caplog.at_level(logging.WARNING, logger="ai.embeddings"):
        vectors = encoder.encode(texts, 64)
    # then the ONNX graph answered, and the process labels its vectors as ONNX from now on
    assert "bf16 bulk path unavailable" in caplog.text
    assert encoder.bulk == embeddings.BULK_ONNX and encoder.version == "all-MiniLM-L6-v2/onnx-int8-v1"
    np.testing.assert_allclose(vectors, embeddings._OnnxEncoder(bulk=embeddings.BULK_ONNX).encode(texts, 64),
                               atol=1e-6)
