import pandas as pd
import pytest

from bench.report import format_view, suite_view


def test_kick_view_puts_open_book_next_to_closed_book():
    rows = [
        {"task": t, "model": "m", "method": method, "profile": "cpu-2c", "retained_pct": r, "sparsity": s,
         "model_bits_per_weight": 16 - 5 * s, "layer_bits_per_weight": 16 - 7 * s, "bytes_per_vector": None}
        for method, s, values in [("dense", 0.0, (100, 100, 100)), ("wanda-sp0.5", 0.5, (40, 90, 70))]
        for t, r in zip(("kick_closed_qa", "kick_open_qa", "wiki_ppl"), values)
    ]
    view = suite_view(pd.DataFrame(rows), ["kick_closed_qa", "kick_open_qa", "kick_mc", "wiki_ppl"])
    assert view["method"].tolist() == ["wanda-sp0.5"]  # dense rows are the reference, not a row
    assert list(view.columns) == ["model", "method", "profile", "kick_closed_qa", "kick_open_qa", "wiki_ppl",
                                  "open_minus_closed", "sparsity", "model_bits_per_weight", "layer_bits_per_weight"]
    # no embedding variant in the view: no empty bytes/vector column
    assert view.loc[0, "open_minus_closed"] == pytest.approx(50)
    assert "50.0" in format_view(view)


def test_calibration_view_compares_one_setting_calibrated_two_ways_next_to_data_free_methods():
    from bench.report import calibration_view

    rows = [{"task": "wiki_ppl", "model": "m", "profile": "cpu-2c", "method": method, "retained_pct": r,
             "calibration": calibration}
            for method, calibration, r in [("dense", None, 100), ("rtn-w4g128", None, 60),
                                           ("gptq-w4g128", "news 16x512 seed0", 55),
                                           ("gptq-w4g128-calib-wiki", "wiki 16x512 seed0", 58),
                                           ("wanda-sp0.5", "news 16x512 seed0", 30)]]
    view = calibration_view(pd.DataFrame(rows))
    assert view[["setting", "calibration", "wiki_ppl"]].values.tolist() == [
        ["gptq-w4g128", "news 16x512 seed0", 55], ["gptq-w4g128", "wiki 16x512 seed0", 58], ["rtn-w4g128", "-", 60],
        ["wanda-sp0.5", "news 16x512 seed0", 30]]
    one_way = pd.DataFrame([r for r in rows if "wiki" not in r["method"]])
    assert calibration_view(one_way).empty  # nothing calibrated two ways: nothing to compare
