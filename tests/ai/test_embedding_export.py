"""The encoder's ONNX export: the cached file carries what built it and the check it passed, and loading the
packaged model leaves transformers' progress bars as they were."""

import json

from transformers.utils import logging as hf_logging

from ai import embedding_export, embeddings


def test_the_exported_model_records_its_version_and_a_passed_check():
    # given the int8 model as the encoder uses it (exported on the first run, reused after)
    path = embeddings.ensure_onnx_model()
    # when its metadata is read
    meta = json.loads(path.with_suffix(".json").read_text())
    # then it names the model version and source it was built from, and its check cleared the bar
    assert meta["model_version"] == embeddings.MODEL_VERSIONS[embeddings.BACKEND_ONNX]
    assert meta["source"] == str(embeddings.model_path())
    assert meta["check_mean_cosine"] >= embedding_export.MIN_MEAN_COSINE


def test_progress_bars_are_hidden_while_loading_and_restored_after():
    hf_logging.enable_progress_bar()
    with embedding_export.no_progress_bars():
        assert not hf_logging.is_progress_bar_enabled()
    assert hf_logging.is_progress_bar_enabled()
