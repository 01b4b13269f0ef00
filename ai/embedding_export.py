"""Building the encoder's ONNX int8 file from the packaged model, once (``ai.embeddings.ensure_onnx_model``
calls it under a file lock): export the Hugging Face ``BertModel`` with mean pooling and L2 normalisation in
the graph, quantise it with onnxruntime (dynamic int8, per-channel MatMul weights), and check it against the
fp32 model before moving it into place. The only code that imports torch to make a model file; serving
processes load the file and never come here."""

import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

logger = logging.getLogger("ai.embeddings")

CHECK_TEXTS = [
    "something to brew coffee by hand",
    "linen tea towel",
    "Speckled Stoneware Mug. A hand-thrown mug with a speckled sand glaze, made in a small studio in Devon. "
    "Dishwasher safe. Kitchen & Dining > Mugs. colour: sand; material: stoneware",
    "Carbon steel garden spade with an ash handle, for digging heavy clay soil. " * 12,
]
# A fresh int8 export against the fp32 torch model on CHECK_TEXTS (typical: mean ~0.99).
MIN_MEAN_COSINE = 0.98
MIN_COSINE = 0.95


@contextlib.contextmanager
def no_progress_bars():
    """Hide transformers' "Loading weights" progress bar while we load the packaged model."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover
        yield
        return
    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


class _QuantiserChatter(logging.Filter):
    def filter(self, record):
        hint = "pre-processing before quantization" in str(record.msg)
        return record.levelno >= logging.WARNING and not hint


@contextlib.contextmanager
def _quiet_root_logger():
    """``quantize_dynamic`` logs per-tensor notes and a pre-processing hint through the root logger
    (``logging.info``/``logging.warning``, which also call ``logging.basicConfig()`` in a process that has
    not configured logging): drop them, and configure nothing."""
    root = logging.getLogger()
    hint_filter, null_handler = _QuantiserChatter(), logging.NullHandler()
    root.addFilter(hint_filter)
    added_handler = not root.handlers
    if added_handler:
        root.addHandler(null_handler)
    try:
        yield
    finally:
        root.removeFilter(hint_filter)
        if added_handler:
            root.removeHandler(null_handler)


def export_onnx(target: Path, *, source: Path, tokenize: Callable[[list[str]], tuple[np.ndarray, np.ndarray]],
                model_version: str) -> None:
    """Export the packaged model to ONNX fp32, quantise to dynamic int8 (per-channel), check, move into place.

    The graph takes ``input_ids``/``attention_mask``/``token_type_ids`` (int64, batch × sequence, both axes
    dynamic) and returns ``sentence_embedding`` (batch × 384): mean pooling over the attention mask and L2
    normalisation happen inside the graph, in fp32.
    """
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    started = time.perf_counter()
    # Eager attention traces to plain MatMul/Softmax, which onnxruntime fuses and runs faster in int8 than
    # the traced SDPA graph.
    with no_progress_bars():
        bert = AutoModel.from_pretrained(str(source), attn_implementation="eager")
    bert.eval()

    class SentenceEncoder(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    wrapper = SentenceEncoder(bert).eval()
    ids, mask = tokenize(CHECK_TEXTS)
    inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    with torch.inference_mode():
        expected = wrapper(*(torch.from_numpy(inputs[k]) for k in ("input_ids", "attention_mask",
                                                                     "token_type_ids"))).numpy()

    target.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    try:
        fp32_file, int8_file = workdir / "model-fp32.onnx", workdir / "model-int8.onnx"
        example = tuple(torch.from_numpy(inputs[k][:2, :16].copy()) for k in ("input_ids", "attention_mask",
                                                                                "token_type_ids"))
        axes = {0: "batch", 1: "sequence"}
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # TracerWarnings and the legacy-exporter deprecation notice
            torch.onnx.export(
                wrapper,
                example,
                str(fp32_file),
                dynamo=False,  # the TorchScript exporter: no onnxscript needed, and it handles BERT fine
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["sentence_embedding"],
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                              "sentence_embedding": {0: "batch"}},
                opset_version=17,
                do_constant_folding=True,
            )
        # MatMul weights only, per output channel: per-tensor int8 loses too much (cosine ~0.95), and
        # quantising the embedding Gather too costs accuracy for no speed.
        with _quiet_root_logger():
            quantize_dynamic(
                fp32_file, int8_file, per_channel=True, weight_type=QuantType.QInt8,
                op_types_to_quantize=["MatMul"],
            )
        session = ort.InferenceSession(str(int8_file), providers=["CPUExecutionProvider"])
        got = session.run(None, inputs)[0]
        cosines = np.sum(got * expected, axis=1)
        cosine = float(cosines.mean())
        if not (cosine >= MIN_MEAN_COSINE and float(cosines.min()) >= MIN_COSINE):
            raise RuntimeError(f"int8 export check failed: cosines to fp32 {np.round(cosines, 4).tolist()}")
        meta = {
            "model_version": model_version,
            "source": str(source),
            "torch": torch.__version__,
            "onnxruntime": ort.__version__,
            "check_mean_cosine": round(cosine, 5),
            "export_seconds": round(time.perf_counter() - started, 1),
        }
        os.replace(int8_file, target)
        target.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
        logger.info("Exported %s to %s in %.1f s (check cosine %.4f)", source.name, target,
                    meta["export_seconds"], cosine)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
