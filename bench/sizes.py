"""Deployment package size of each function with its layers, from ``sam build``'s output: bytes on
disk once unzipped (Lambda's 250 MB limit covers the function and all its layers together) and the
size of the zip (deflate, as SAM uploads it)."""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from devstack.template import SamTemplate

UNZIPPED_LIMIT = 250 * 1000 * 1000  # bytes, function + layers (Lambda quota: 250 MB)
ZIPPED_DIRECT_LIMIT = 50 * 1000 * 1000  # bytes, a zip uploaded directly (through S3 it may be larger)


@dataclass(frozen=True)
class Size:
    unzipped: int
    zipped: int
    files: int


@dataclass(frozen=True)
class FunctionSize:
    function: str
    code: Size
    layers: dict[str, Size]

    @property
    def unzipped(self) -> int:
        return self.code.unzipped + sum(s.unzipped for s in self.layers.values())

    @property
    def zipped(self) -> int:
        return self.code.zipped + sum(s.zipped for s in self.layers.values())


def _files(root: Path) -> list[Path]:
    return sorted(Path(d) / f for d, _, names in os.walk(root) for f in names)


def measure(root: Path) -> Size:
    files = _files(root)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(root).as_posix())
    return Size(unzipped=sum(p.stat().st_size for p in files), zipped=buffer.tell(), files=len(files))


def largest_packages(layer_root: Path, top: int = 8) -> list[tuple[str, int]]:
    python = layer_root / "python"
    sizes = []
    for entry in python.iterdir():
        if entry.name.endswith(".dist-info") or entry.name == "__pycache__":
            continue
        files = _files(entry) if entry.is_dir() else [entry]
        sizes.append((entry.name, sum(p.stat().st_size for p in files)))
    return sorted(sizes, key=lambda item: item[1], reverse=True)[:top]


def _function_layers(template: SamTemplate, logical_id: str) -> list[str]:
    props = template.functions()[logical_id]["Properties"]
    layers = props.get("Layers") or template.doc.get("Globals", {}).get("Function", {}).get("Layers", [])
    return [ref["Ref"] for ref in layers if isinstance(ref, dict) and "Ref" in ref]


def function_sizes(template: SamTemplate, build_dir: Path) -> list[FunctionSize]:
    measured: dict[str, Size] = {}

    def size_of(logical_id: str) -> Size:
        if logical_id not in measured:
            measured[logical_id] = measure(build_dir / logical_id)
        return measured[logical_id]

    return [
        FunctionSize(
            function=logical_id,
            code=size_of(logical_id),
            layers={layer: size_of(layer) for layer in _function_layers(template, logical_id)},
        )
        for logical_id in template.functions()
    ]
