"""Where a cold start's time goes: ``python -X importtime`` of each handler (and of boto3 for the
baseline), the same without bytecode for pwreset (as the built layer ships it), the first botocore
client, the first User-Agent parse and the first German country name of a fresh process, and a
cProfile of the first request, grouped by package."""

from __future__ import annotations

import json
import os
import pstats
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from time import perf_counter

from bench.stack import LAYER_SOURCE

NO_BYTECODE = "pwreset and handler without bytecode"
BOTO3_IMPORT = "baseline (`import boto3`)"
FRAMEWORK_FLOOR = (
    "frameworks alone, no pwreset (powertools Logger and Metrics, the REST resolver with "
    "validation; pydantic's BaseModel; pynamodb models and transactions)"
)
FRAMEWORK_IMPORTS = """\
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
APIGatewayRestResolver(enable_validation=True)
import pydantic.main, pynamodb.models, pynamodb.transactions
"""

NO_BYTECODE_AT_ALL = "no bytecode for any module"
LAYER_BOTOCORE = "layer's pruned botocore"
RUNTIME_BOTOCORE = "runtime's whole botocore"
_IO_WAIT = ("recv", "poll", "select", "connect", "sendall", "send", "getaddrinfo")


@dataclass(frozen=True)
class ImportProfile:
    label: str
    total_ms: float  # median of the runs
    runs: int
    by_package: list[tuple[str, float]]  # self time summed per top-level package (median run)
    heaviest: list[tuple[str, float]]  # modules by cumulative time (median run)


def _package_label(module: str) -> str:
    top = module.split(".", 1)[0]
    return f"{top} (stdlib)" if top in sys.stdlib_module_names else top


def _parse_importtime(stderr: str) -> tuple[float, dict[str, float], list[tuple[str, float, int]]]:
    by_package: dict[str, float] = defaultdict(float)
    modules: list[tuple[str, float, int]] = []
    total = 0.0
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, field = line.split(":", 1)[1].split("|")
        name = field[1:]  # one space after the bar, then two per level of nesting
        depth = (len(name) - len(name.lstrip())) // 2
        module = name.strip()
        by_package[_package_label(module)] += int(self_us) / 1000
        modules.append((module, int(cumulative_us) / 1000, depth))
        if depth == 0:
            total += int(cumulative_us) / 1000
    return total, by_package, modules


@dataclass(frozen=True)
class ImportVariant:
    label: str
    code: str
    env: dict[str, str]
    cwd: Path


def _fresh_python(
    code: str, env: dict[str, str], cwd: Path, *options: str
) -> subprocess.CompletedProcess[str]:
    """``python -S [options] -c code`` in a new process, its output captured."""
    return subprocess.run(
        [sys.executable, "-S", *options, "-c", code],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def import_profiles(variants: list[ImportVariant], *, runs: int = 5, top: int = 12) -> list[ImportProfile]:
    """``python -S -X importtime -c CODE`` for each variant, ``runs`` times, the variants taking
    turns (so drift hits them alike); per variant the median total and the run at the median."""
    parsed: dict[str, list[tuple[float, dict[str, float], list[tuple[str, float, int]]]]] = {
        v.label: [] for v in variants
    }
    for _ in range(runs):
        for v in variants:
            done = _fresh_python(v.code, v.env, v.cwd, "-X", "importtime")
            parsed[v.label].append(_parse_importtime(done.stderr))
    profiles = []
    for v in variants:
        ordered = sorted(parsed[v.label], key=lambda p: p[0])
        _, by_package, modules = ordered[len(ordered) // 2]
        heaviest = sorted(
            ((m, ms) for m, ms, depth in modules if 1 <= depth <= 3), key=lambda item: item[1], reverse=True
        )
        profiles.append(
            ImportProfile(
                label=v.label,
                total_ms=median(p[0] for p in ordered),
                runs=runs,
                by_package=sorted(by_package.items(), key=lambda item: item[1], reverse=True)[:top],
                heaviest=heaviest[:top],
            )
        )
    return profiles


def compile_ms(package: Path, runs: int = 5) -> float:
    """Time to compile every module of ``package`` from source, as an interpreter without usable
    bytecode does on import."""
    sources = [(path, path.read_text(encoding="utf-8")) for path in sorted(package.rglob("*.py"))]
    totals = []
    for _ in range(runs):
        started = perf_counter()
        for path, source in sources:
            compile(source, str(path), "exec", dont_inherit=True)
        totals.append((perf_counter() - started) * 1000)
    return median(totals)


FIRST_CLIENT = """\
import time, botocore.session
started = time.perf_counter()
botocore.session.get_session().create_client("dynamodb")
print((time.perf_counter() - started) * 1000)
"""


def first_client_ms(envs: dict[str, dict[str, str]], cwd: Path, runs: int = 7) -> dict[str, float]:
    """The first DynamoDB client of a fresh process (session and client, after botocore's import),
    per labelled environment, the environments taking turns; medians. This is where botocore lists
    its service directories and parses its endpoint and model data."""
    times: dict[str, list[float]] = {label: [] for label in envs}
    for _ in range(runs):
        for label, env in envs.items():
            times[label].append(float(_fresh_python(FIRST_CLIENT, env, cwd).stdout))
    return {label: median(found) for label, found in times.items()}


USER_AGENT_PARSE = """\
import json, time
from pwreset.mail import useragent
chrome = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")
started = time.perf_counter()
useragent.describe(chrome)
first = time.perf_counter()
useragent.describe(chrome.replace("131", "132"))
done = time.perf_counter()
print(json.dumps({"first": (first - started) * 1000, "next": (done - first) * 1000,
                  "backend": useragent.backend()}))
"""


@dataclass(frozen=True)
class UserAgentParse:
    first_ms: float  # median
    next_ms: float  # median
    backend: str
    runs: int


def user_agent_parse(env: dict[str, str], cwd: Path, runs: int = 7) -> UserAgentParse:
    """The first User-Agent parse of a fresh process, which the notification's first request
    pays (``pwreset.mail.useragent`` loads ua-parser and builds its browser and OS rules then; the
    module's own import is not counted), and the parse after it."""
    found = [
        json.loads(_fresh_python(USER_AGENT_PARSE, env, cwd).stdout.splitlines()[-1]) for _ in range(runs)
    ]
    return UserAgentParse(
        first_ms=median(float(f["first"]) for f in found),
        next_ms=median(float(f["next"]) for f in found),
        backend=str(found[0]["backend"]),
        runs=runs,
    )


COUNTRY_NAME = """\
import json, time
from pwreset.mail import geo
started = time.perf_counter()
geo.country_name("DE", "de")
first = time.perf_counter()
geo.country_name("AT", "de")
done = time.perf_counter()
print(json.dumps({"first": (first - started) * 1000, "next": (done - first) * 1000}))
"""


@dataclass(frozen=True)
class CountryName:
    first_ms: float  # median
    next_ms: float  # median
    runs: int


def country_name_lookup(env: dict[str, str], cwd: Path, runs: int = 7) -> CountryName:
    """The first German country name of a fresh process, which the notification's first German
    mail pays (``pwreset.mail.geo`` imports Babel and loads CLDR's German data then; the module's
    own import is not counted), and a name after it."""
    found = [json.loads(_fresh_python(COUNTRY_NAME, env, cwd).stdout.splitlines()[-1]) for _ in range(runs)]
    return CountryName(
        first_ms=median(float(f["first"]) for f in found),
        next_ms=median(float(f["next"]) for f in found),
        runs=runs,
    )


def without_bytecode(env: dict[str, str], function_dir: Path, work: Path) -> tuple[dict[str, str], Path]:
    """An environment in which pwreset and the handler have no ``.pyc`` and none can be written:
    what the built layer ships (its Makefile removes ``__pycache__``) on Lambda's read-only disk."""
    root = work
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(
        LAYER_SOURCE / "pwreset", root / "layer" / "pwreset", ignore=shutil.ignore_patterns("__pycache__")
    )
    (root / "task").mkdir(parents=True)
    shutil.copy2(function_dir / "app.py", root / "task" / "app.py")
    parts = [str(root / "task"), str(root / "layer")]
    parts += [
        p for p in env["PYTHONPATH"].split(os.pathsep) if p not in (str(function_dir), str(LAYER_SOURCE))
    ]
    return {**env, "PYTHONPATH": os.pathsep.join(parts), "PYTHONDONTWRITEBYTECODE": "1"}, root / "task"


_CHARGE_UP = "charge to caller"


def _group(path: str, func: str, roots: dict[Path, str]) -> str:
    if path == "~" or path.startswith("<"):
        return "socket I/O (waiting for moto)" if any(k in func for k in _IO_WAIT) else _CHARGE_UP
    resolved = Path(path)
    for root, label in roots.items():
        if resolved.is_relative_to(root):
            rest = resolved.relative_to(root).parts
            return label or (rest[0].removesuffix(".py") if rest else "?")
    return _CHARGE_UP  # the standard library


def package_profile(path: Path, roots: dict[Path, str], *, top: int = 10) -> list[tuple[str, float, float]]:
    """cProfile's own time per package: (package, ms, share). Time in the standard library and in
    C functions is charged to the package that called them (along the call graph, split by the
    callers' shares), so JSON parsing of botocore's service models counts as botocore. Profiling
    slows Python code more than C code, so read the shares, not the milliseconds."""
    stats: dict[
        tuple[str, int, str],
        tuple[int, int, float, float, dict[tuple[str, int, str], tuple[int, int, float, float]]],
    ]
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    memo: dict[tuple[str, int, str], dict[str, float]] = {}
    visiting: set[tuple[str, int, str]] = set()

    def attribution(key: tuple[str, int, str]) -> dict[str, float]:
        """Which packages a function's own time belongs to, as fractions."""
        if key in memo:
            return memo[key]
        group = _group(key[0], key[2], roots)
        callers = stats[key][4] if key in stats else {}
        if group != _CHARGE_UP:
            result = {group: 1.0}
        elif key in visiting or not callers:
            result = {"standard library": 1.0}
        else:
            visiting.add(key)
            weights = {caller: value[3] for caller, value in callers.items()}
            total = sum(weights.values())
            result = defaultdict(float)
            for caller, weight in weights.items():
                share = weight / total if total else 1 / len(weights)
                for name, fraction in attribution(caller).items():
                    result[name] += share * fraction
            visiting.discard(key)
        memo[key] = dict(result)
        return memo[key]

    grouped: dict[str, float] = defaultdict(float)
    for key, (_cc, _nc, own, _cum, _callers) in stats.items():
        if own > 0:
            for name, fraction in attribution(key).items():
                grouped[name] += own * 1000 * fraction
    total = sum(grouped.values()) or 1.0
    ranked = sorted(grouped.items(), key=lambda item: item[1], reverse=True)[:top]
    return [(name, ms, ms / total) for name, ms in ranked]
