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
