"""`bench site build` and `bench site screenshot` as `make demo` calls them: the screenshots are real PNGs of the
index and of the first model family page, taken in the system Chromium (its own Playwright session, so this
module opens no other browser)."""

from __future__ import annotations

from click.testing import CliRunner

from bench.cli import cli
from tests.synthetic import write_family

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_site_build_then_screenshot_saves_the_index_and_a_family_page(tmp_path):
    write_family(tmp_path / "subs", "org/alpha")
    runner, site, shots = CliRunner(), tmp_path / "site", tmp_path / "shots"
    built = runner.invoke(cli, ["site", "build", "--submissions", str(tmp_path / "subs"), "--out", str(site)])
    assert built.exit_code == 0 and f"site: {(site / 'index.html').resolve()}" in built.output
    shot = runner.invoke(cli, ["site", "screenshot", "--site", str(site), "--out", str(shots)])
    assert shot.exit_code == 0, shot.output
    assert sorted(p.name for p in shots.iterdir()) == ["site-family.png", "site-index.png"]
    for png in shots.iterdir():
        assert png.read_bytes().startswith(PNG_SIGNATURE) and png.stat().st_size > 10_000
        assert f"screenshot: {png}" in shot.output
