"""One small real run on the offline default models (few items): the whole stack, for real."""

import math

import pytest

from bench.runner import RunRequest, run


@pytest.mark.real
def test_default_models_wanda_and_magnitude(tmp_path):
    common = dict(out=tmp_path, limit=4)
    wanda = {p.compressed.task.name: p for p in run(
        RunRequest(method="wanda", tasks=["wiki_ppl", "capitals_mc", "wiki_retrieval"],
                   calib_samples=4, calib_seqlen=128, seed=0, **common), log=lambda _l: None)}
    (magnitude,) = run(RunRequest(method="magnitude", tasks=["wiki_ppl"], **common), log=lambda _l: None)

    ppl = wanda["wiki_ppl"]
    assert ppl.dense.model.name == "HuggingFaceTB/SmolLM2-135M-Instruct-Q4_1"
    assert ppl.dense.model.n_params == 134_515_008
    assert ppl.compressed.compression.target_layers == 210
    assert ppl.compressed.compression.excluded_layers == ["lm_head"]
    assert ppl.compressed.compression.sparsity == pytest.approx(0.5, abs=1e-3)
    # A real pretrained model, not random weights (those score tens of thousands).
    assert math.isfinite(ppl.dense.main_score) and ppl.dense.main_score < 500
    # The known ordering, measured: pruning hurts, and Wanda hurts far less than magnitude.
    assert ppl.dense.main_score < ppl.compressed.main_score < magnitude.compressed.main_score
    assert magnitude.dense == ppl.dense  # the dense parent ran once and was reused

    retrieval = wanda["wiki_retrieval"]
    assert retrieval.dense.model.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert retrieval.compressed.compression.target_layers == 36
    assert retrieval.dense.main_score > 0.5  # MiniLM finds the source article; chance is ~0.03
