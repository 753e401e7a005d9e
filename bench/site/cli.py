"""`bench site`: the static leaderboard, built from result files, and screenshots of it."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def site() -> None:
    """The static leaderboard."""


@site.command("build")
@click.option("--submissions", type=click.Path(path_type=Path), default=Path("submissions"), show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("site/_build"), show_default=True)
def site_build(submissions: Path, out: Path) -> None:
    """Render the leaderboard from result files into static HTML."""
    from bench.report import format_table
    from bench.site.build import build

    index, table = build(submissions, out)
    if not table.empty:
        click.echo(format_table(table))
    click.echo(f"site: {index.resolve()}")


@site.command("screenshot")
@click.option("--site", "site_dir", type=click.Path(path_type=Path, exists=True, file_okay=False),
              default=Path("site/_build"), show_default=True, help="a site `bench site build` wrote")
@click.option("--out", type=click.Path(path_type=Path), default=Path("docs"), show_default=True)
def site_screenshot(site_dir: Path, out: Path) -> None:
    """Save PNGs of the index and the first model family page, in the system Chromium at 1280 px."""
    from bench.site.browser import screenshot

    families = sorted(site_dir.glob("family-*.html"))
    pages = {"site-index.png": "index.html", **({"site-family.png": families[0].name} if families else {})}
    for path in screenshot(site_dir, out, pages):
        click.echo(f"screenshot: {path}")
