#!/usr/bin/env python3
"""Writes the airlock-mcp wheel around an `airlock` binary that is already built.

    python3 packaging/pypi/build_wheel.py --binary target/release/airlock --out dist/ \
        [--platform-tag manylinux_2_17_x86_64.manylinux2014_x86_64]

maturin (the repository's `pyproject.toml`) compiles the binary itself, so it cannot wrap one
built earlier. This script writes the same wheel layout as maturin's `bin` bindings (the
binary under `<name>-<version>.data/scripts/`, the `airlock_mcp` package, the `airlock-mcp`
console script) from a given binary, so that the release wheels carry exactly the stripped
binary the npm packages and the MCP bundle carry, and the CI packaging test can wrap the
binary `scripts/test` already built instead of compiling another. Metadata comes from
the repository's `pyproject.toml`, the version from `airlock --version` (or `--version`, for a
cross-compiled binary).

The platform tag defaults to this interpreter's platform (`linux_x86_64` here), which pip
installs on any Linux but PyPI refuses; release wheels pass a manylinux/musllinux/macosx/win
tag that the binary was checked against (`auditwheel show`, docs/release.md).
Needs Python 3.11+ (tomllib) and the standard library only.
"""

import argparse
import base64
import hashlib
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# A fixed timestamp keeps the wheel reproducible (the same binary gives the same bytes).
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def binary_version(binary: Path) -> str:
    out = subprocess.run(
        [str(binary), "--version"], check=True, capture_output=True, text=True
    ).stdout
    m = re.match(r"airlock (\S+)", out)
    if not m:
        sys.exit(f"error: `{binary} --version` printed {out!r}, not `airlock VERSION …`")
    return m.group(1)


def default_platform_tag() -> str:
    return re.sub(r"[-.]", "_", sysconfig.get_platform())


def metadata(project: dict, version: str) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {version}",
        f"Summary: {project['description']}",
        f"License: {project['license']['text']}",
        f"Keywords: {','.join(project.get('keywords', []))}",
        f"Requires-Python: {project['requires-python']}",
    ]
    lines += [f"Classifier: {c}" for c in project.get("classifiers", [])]
    lines.append("Description-Content-Type: text/markdown")
    readme = (ROOT / project["readme"]).read_text(encoding="utf-8")
    return "\n".join(lines) + "\n\n" + readme


def record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"{name},sha256={digest.decode()},{len(data)}"


def build(binary: Path, out: Path, platform_tag: str, version: str | None) -> Path:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    version = version or binary_version(binary)
    dist = re.sub(r"[-_.]+", "_", project["name"]).lower()
    info = f"{dist}-{version}.dist-info"
    exe = "airlock.exe" if binary.suffix == ".exe" else "airlock"
    scripts = "".join(
        f"{name} = {target}\n" for name, target in project.get("scripts", {}).items()
    )

    files: list[tuple[str, bytes, int]] = []  # (path in the wheel, bytes, unix mode)
    package = HERE / "python"
    for path in sorted(package.rglob("*.py")):
        files.append((path.relative_to(package).as_posix(), path.read_bytes(), 0o644))
    files.append((f"{dist}-{version}.data/scripts/{exe}", binary.read_bytes(), 0o755))
    files.append((f"{info}/METADATA", metadata(project, version).encode(), 0o644))
    # A compressed tag set (`a.b`) is one Tag line per platform.
    tags = "".join(f"Tag: py3-none-{t}\n" for t in platform_tag.split("."))
    wheel_file = (
        "Wheel-Version: 1.0\nGenerator: airlock build_wheel.py\nRoot-Is-Purelib: false\n" + tags
    )
    files.append((f"{info}/WHEEL", wheel_file.encode(), 0o644))
    files.append((f"{info}/entry_points.txt", f"[console_scripts]\n{scripts}".encode(), 0o644))
    record = "".join(record_line(n, d) + "\n" for n, d, _ in files) + f"{info}/RECORD,,\n"
    files.append((f"{info}/RECORD", record.encode(), 0o644))

    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"{dist}-{version}-py3-none-{platform_tag}.whl"
    tmp = wheel.with_suffix(".whl.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data, mode in files:
            entry = zipfile.ZipInfo(name, ZIP_TIME)
            entry.external_attr = (0o100000 | mode) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(entry, data)
    os.replace(tmp, wheel)
    return wheel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", type=Path, required=True, help="the airlock executable")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the wheel to")
    parser.add_argument(
        "--platform-tag",
        default=default_platform_tag(),
        help="wheel platform tag, e.g. manylinux_2_17_x86_64.manylinux2014_x86_64",
    )
    parser.add_argument(
        "--version",
        help="the binary's version, for a binary this machine cannot run [default: airlock --version]",
    )
    args = parser.parse_args()
    if not args.binary.is_file():
        sys.exit(f"error: {args.binary} is not a file; build it first (cargo build -p airlock)")
    print(build(args.binary, args.out, args.platform_tag, args.version))


if __name__ == "__main__":
    main()
