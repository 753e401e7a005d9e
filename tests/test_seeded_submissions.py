"""The seeded leaderboard results in submissions/ (`make submissions`): every file validates and the site
builds from them, so a change that breaks reading real results fails here, not on the deployed site."""

from pathlib import Path

from click.testing import CliRunner

from bench.cli import cli
from bench.site.build import build
from bench.validate import check_root

SUBMISSIONS = Path(__file__).resolve().parents[1] / "submissions"


def test_the_seeded_results_validate_and_the_site_builds_from_them(tmp_path):
    checked = check_root(SUBMISSIONS)
    assert checked.results, "submissions/ holds no result: `make submissions` makes them"
    result = CliRunner().invoke(cli, ["validate", str(SUBMISSIONS)])
    assert result.exit_code == 0, result.output
    index, table = build(SUBMISSIONS, tmp_path / "site")
    assert index.exists() and len(table) == len(checked.results)


def test_results_without_items_next_to_results_with_them_build_and_link_only_what_exists(tmp_path):
    """Model-free results (the free-embedding table) store no items: pandas' string column holds NaN for them,
    which once crashed the build when it copied the items files."""
    import shutil

    out = tmp_path / "submissions"
    shutil.copytree(SUBMISSIONS / "free-embedding", out / "free-embedding")
    dense = SUBMISSIONS / "HuggingFaceTB__SmolLM2-135M-Instruct-Q4_1" / "dense"
    shutil.copytree(dense, out / dense.parent.name / "dense")
    index, table = build(out, tmp_path / "site")
    copied = {p.name for p in (tmp_path / "site").rglob("*.json")}
    assert table["items_file"].isna().sum() == 3 and "limit_free_embedding.json" in copied
    assert "wiki_ppl.items.json" in copied and "nan" not in copied
