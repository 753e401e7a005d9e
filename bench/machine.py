"""The machine a run sees, compared with its profile's expectation before anything runs."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess

import psutil
import torch

from bench import BenchError
from bench.hardware import Hardware, MachineCheck
from bench.profiles import PROFILES, Profile, require_device

GPU_MEMORY_SHARE = 0.9  # a GPU sold as 80 GB reports about 79 GiB: at least 90% of the nominal figure


def hardware_seen() -> Hardware:
    """The hardware this process actually runs on, recorded in every result."""
    gpu = torch.cuda.get_device_properties(0) if torch.cuda.is_available() else None
    return Hardware(machine=platform.machine(), cpu=_cpu_model(), cpu_count=os.cpu_count(),
                    torch_threads=torch.get_num_threads(), gpu=gpu.name if gpu else None,
                    gpu_memory_gb=round(gpu.total_memory / 2**30, 1) if gpu else None,
                    ram_gb=round(psutil.virtual_memory().total / 2**30, 1),
                    cuda_version=torch.version.cuda if gpu else None, driver_version=_driver_version() if gpu else None)


def mismatches(profile: Profile, seen: Hardware) -> list[str]:
    """Each difference from the profile's machine that changes timings, as a phrase naming both sides."""
    spec, found = profile.machine, []
    if spec.cpu_cores and (seen.cpu_count or 0) < spec.cpu_cores:
        found.append(f"{seen.cpu_count} CPU cores, the profile expects at least {spec.cpu_cores}")
    if spec.cpu_pattern and not re.search(spec.cpu_pattern, seen.cpu):
        found.append(f"CPU {seen.cpu!r}, the profile expects one matching {spec.cpu_pattern!r}")
    if spec.ram_gb and seen.ram_gb is not None and seen.ram_gb < spec.ram_gb:
        found.append(f"{seen.ram_gb:g} GB of RAM, the profile expects at least {spec.ram_gb:g}")
    if spec.gpu_pattern and seen.gpu and not re.search(spec.gpu_pattern, seen.gpu):
        found.append(f"GPU {seen.gpu!r}, the profile expects one matching {spec.gpu_pattern!r}")
    if spec.gpu_memory_gb and seen.gpu and (seen.gpu_memory_gb or 0) < GPU_MEMORY_SHARE * spec.gpu_memory_gb:
        found.append(f"{seen.gpu_memory_gb:g} GB of GPU memory, the profile expects {spec.gpu_memory_gb:g}")
    return found


def check_machine(profile: Profile, seen: Hardware, force: bool) -> MachineCheck:
    """The record a result stores; a mismatch without `force` is a one-line error. A GPU profile on a
    machine without that device stays an error even with `force` (bench.profiles.activate)."""
    require_device(profile)
    found = mismatches(profile, seen)
    if found and not force:
        raise BenchError(f"this machine does not match profile {profile.name!r}: {'; '.join(found)} "
                         f"(`bench profile detect` names the closest; --force-hardware runs anyway, marked as forced)")
    return MachineCheck(expected=profile.machine, mismatches=found, forced=bool(found))


def closest_profile(seen: Hardware) -> Profile:
    """The profile this machine matches with the fewest differences, of its kind (GPU or CPU), preferring
    the most demanding one it fully meets (cpu-16c over cpu-2c on 16 cores)."""
    device = "cuda" if seen.gpu else "mps" if torch.backends.mps.is_available() else "cpu"
    candidates = [p for _, p in PROFILES.items() if p.device == device] or [PROFILES.get("cpu-2c")]

    def rank(profile: Profile) -> tuple[int, float, float]:
        spec = profile.machine
        return len(mismatches(profile, seen)), -(spec.cpu_cores or 0), -(spec.gpu_memory_gb or spec.ram_gb or 0)
    return min(candidates, key=rank)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _driver_version() -> str | None:
    smi = shutil.which("nvidia-smi")
    if not smi:
        return None
    try:
        out = subprocess.run([smi, "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.strip().splitlines()[0] if out.strip() else None
