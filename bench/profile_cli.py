"""`bench profile show NAME` and `bench profile detect`: the profiles as data, and this machine against them."""

from __future__ import annotations

import click


@click.group()
def profile() -> None:
    """Hardware profiles: the machine each expects, its threads, batches, kernels and measured workload."""


@profile.command("show")
@click.argument("name")
def profile_show(name: str) -> None:
    """Print profile NAME as YAML (the file in profiles/ it was read from, defaults filled in)."""
    from bench.profiles import PROFILES

    click.echo(PROFILES.get(name).to_yaml(), nl=False)


@profile.command("detect")
def profile_detect() -> None:
    """Print the machine seen and the profile closest to it, with any difference that changes timings."""
    from bench.machine import closest_profile, hardware_seen, mismatches

    seen = hardware_seen()
    gpu = f"{seen.gpu} ({seen.gpu_memory_gb:g} GB, CUDA {seen.cuda_version}, driver {seen.driver_version})" \
        if seen.gpu else "none"
    click.echo(f"machine: {seen.cpu}, {seen.cpu_count} cores, {seen.ram_gb:g} GB RAM; GPU: {gpu}")
    best = closest_profile(seen)
    found = mismatches(best, seen)
    click.echo(f"closest profile: {best.name} ({best.description})" +
               (f"; differs: {'; '.join(found)}" if found else "; matches"))
