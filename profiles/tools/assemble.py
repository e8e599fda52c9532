"""Turn SUSHI output into profiles/compiled/ and the installable FHIR package.

Called by profiles/build.sh; standard library only, so it runs on any Python 3.11+.

    assemble.py compile GENERATED_DIR COMPILED_DIR
    assemble.py package COMPILED_DIR SUSHI_CONFIG PACKAGE_TGZ

Resources whose id starts with ``invalid-`` are negative tests (see
profiles/invalid-examples.json): they go to COMPILED_DIR/invalid/, are removed from the
ImplementationGuide resource and never enter the package.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import sys
import tarfile
from pathlib import Path
from typing import Any

INVALID_PREFIX = "invalid-"
# Fixed timestamp for every tar member and the gzip header: the package is reproducible.
EPOCH = 315532800  # 1980-01-01T00:00:00Z


def dump(resource: Any) -> str:
    """One canonical JSON text: SUSHI's key order, two-space indent, UTF-8, final newline."""
    return json.dumps(resource, indent=2, ensure_ascii=False) + "\n"


def _is_invalid_entry(entry: dict[str, Any]) -> bool:
    reference = str(entry.get("reference", {}).get("reference", ""))
    return reference.rsplit("/", 1)[-1].startswith(INVALID_PREFIX)


def _drop_invalid_from_ig(ig: dict[str, Any]) -> dict[str, Any]:
    definition = ig.get("definition", {})
    definition["resource"] = [
        entry for entry in definition.get("resource", []) if not _is_invalid_entry(entry)
    ]
    return ig


def compile_resources(generated: Path, compiled: Path) -> int:
    """Write every generated resource to compiled/ (invalid ones to compiled/invalid/)."""
    if compiled.exists():
        shutil.rmtree(compiled)
    (compiled / "invalid").mkdir(parents=True)
    count = 0
    for source in sorted(generated.glob("*.json")):
        resource = json.loads(source.read_text(encoding="utf-8"))
        resource_id = str(resource.get("id", ""))
        if resource.get("resourceType") == "ImplementationGuide":
            resource = _drop_invalid_from_ig(resource)
        target_dir = compiled / "invalid" if resource_id.startswith(INVALID_PREFIX) else compiled
        (target_dir / source.name).write_text(dump(resource), encoding="utf-8")
        count += 1
    return count


def _read_config(config_path: Path) -> dict[str, str]:
    """The few scalar keys of sushi-config.yaml the package needs (no YAML library needed)."""
    wanted = {"id", "canonical", "version", "fhirVersion", "title", "license", "name"}
    values: dict[str, str] = {}
    for line in config_path.read_text(encoding="utf-8").splitlines():
        if not line or line[0] in " #\t" or ":" not in line:
            continue
        key, _, value = line.partition(":")
        if key in wanted and value.strip():
            values[key] = value.strip().strip('"')
    return values


def _index_entry(filename: str, resource: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "filename": filename,
        "resourceType": resource["resourceType"],
        "id": resource["id"],
    }
    for key in ("url", "version", "kind", "type"):
        if isinstance(resource.get(key), str):
            entry[key] = resource[key]
    return entry


def _add_file(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = EPOCH
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))


def build_package(compiled: Path, config_path: Path, target: Path) -> int:
    """Write an npm-style FHIR package (package/…, package/example/…) with .index.json files."""
    config = _read_config(config_path)
    ig_files = sorted(compiled.glob("ImplementationGuide-*.json"))
    examples: set[str] = set()
    for ig_file in ig_files:
        ig = json.loads(ig_file.read_text(encoding="utf-8"))
        for entry in ig.get("definition", {}).get("resource", []):
            if entry.get("exampleBoolean") or entry.get("exampleCanonical"):
                examples.add(entry["reference"]["reference"])

    members: dict[str, bytes] = {}
    indexes: dict[str, list[dict[str, Any]]] = {"package": [], "package/example": []}
    for path in sorted(compiled.glob("*.json")):
        resource = json.loads(path.read_text(encoding="utf-8"))
        reference = f"{resource['resourceType']}/{resource['id']}"
        folder = "package/example" if reference in examples else "package"
        members[f"{folder}/{path.name}"] = path.read_bytes()
        indexes[folder].append(_index_entry(path.name, resource))

    manifest = {
        "name": config["id"],
        "version": config["version"],
        "type": "IG",
        "canonical": config["canonical"],
        "url": config["canonical"],
        "title": config.get("title", config["id"]),
        "description": "kv-gateway: profiler, terminologi och frågeformulär för medicinskt "
        "utlåtande om aktivitetsförmåga (kommun–vård).",
        "fhirVersions": [config["fhirVersion"]],
        "dependencies": {"hl7.fhir.r4.core": "4.0.1"},
        "author": "kv-gateway",
        "license": config.get("license", "CC0-1.0"),
        "jurisdiction": "urn:iso:std:iso:3166#SE",
    }
    members["package/package.json"] = dump(manifest).encode("utf-8")
    for folder, files in indexes.items():
        index = {"index-version": 1, "files": files}
        members[f"{folder}/.index.json"] = dump(index).encode("utf-8")

    target.parent.mkdir(parents=True, exist_ok=True)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(members):
            _add_file(tar, name, members[name])
    with target.open("wb") as out, gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return len(members)


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[1] == "compile":
        count = compile_resources(Path(argv[2]), Path(argv[3]))
        print(f"assemble: wrote {count} resources to {argv[3]}")
        return 0
    if len(argv) == 5 and argv[1] == "package":
        count = build_package(Path(argv[2]), Path(argv[3]), Path(argv[4]))
        print(f"assemble: wrote {argv[4]} ({count} files)")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
