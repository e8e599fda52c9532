"""Make ``data/r4-core.json``: the part of ``hl7.fhir.r4.core#4.0.1`` the validator needs.

The gateway must start without a FHIR package cache and without a network, so the little
it needs from the core package is extracted once and committed:

* the StructureDefinitions (snapshots, trimmed to what validation reads) of the resource
  types the gateway serves, of Bundle/Parameters, and of the complex data types;
* the expansions of every ValueSet bound *required* or *extensible* in those
  StructureDefinitions or in our compiled profiles, as far as they can be expanded locally;
* the codes of the core CodeSystems that our own ValueSets include.

Regenerate after a profile change that binds a new core ValueSet::

    python -m gateway.validation.core_subset [--package DIR] [--compiled DIR] [--out FILE]

A test regenerates it in memory and fails when the committed file is stale.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gateway.validation.terminology import Expansion, all_codes, canonical_url, expand

CORE_PACKAGE = "hl7.fhir.r4.core#4.0.1"
DEFAULT_PACKAGE_DIR = Path.home() / ".fhir" / "packages" / CORE_PACKAGE / "package"
DEFAULT_OUT = Path(__file__).parent / "data" / "r4-core.json"
DEFAULT_COMPILED = Path(__file__).resolve().parents[2] / "profiles" / "compiled"

RESOURCE_TYPES = (
    "ServiceRequest",
    "Consent",
    "Task",
    "QuestionnaireResponse",
    "Questionnaire",
    "Patient",
    "Organization",
    "PractitionerRole",
    "Practitioner",
    "Endpoint",
    "Communication",
    "Subscription",
    "AuditEvent",
    "Bundle",
    "Parameters",
)

ELEMENT_KEYS = (
    "id",
    "path",
    "sliceName",
    "min",
    "max",
    "type",
    "binding",
    "constraint",
    "slicing",
    "contentReference",
    "mustSupport",
)
SKIPPED_CONSTRAINTS = frozenset({"ele-1"})
"""ele-1 (every element has a value or children) holds for any JSON that parses."""


def trim_element(element: Mapping[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, value in element.items():
        if key in ELEMENT_KEYS or key.startswith(("fixed", "pattern")):
            kept[key] = value
    if "binding" in kept:
        kept["binding"] = {
            k: v for k, v in kept["binding"].items() if k in ("strength", "valueSet")
        }
        if kept["binding"].get("strength") not in ("required", "extensible"):
            del kept["binding"]
    if "constraint" in kept:
        constraints = [
            {k: c[k] for k in ("key", "severity", "human", "expression") if k in c}
            for c in kept["constraint"]
            if c.get("key") not in SKIPPED_CONSTRAINTS and c.get("expression")
        ]
        if constraints:
            kept["constraint"] = constraints
        else:
            del kept["constraint"]
    if "type" in kept:
        kept["type"] = [
            {k: v for k, v in t.items() if k in ("code", "profile", "targetProfile")}
            for t in kept["type"]
        ]
    return kept


def trim_structure_definition(sd: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "StructureDefinition",
        "url": sd["url"],
        "name": sd.get("name"),
        "kind": sd.get("kind"),
        "type": sd.get("type"),
        "abstract": sd.get("abstract", False),
        "baseDefinition": sd.get("baseDefinition"),
        "snapshot": {"element": [trim_element(e) for e in sd["snapshot"]["element"]]},
    }


def _read_package(package_dir: Path) -> dict[str, dict[str, dict[str, Any]]]:
    by_type: dict[str, dict[str, dict[str, Any]]] = {
        "StructureDefinition": {},
        "ValueSet": {},
        "CodeSystem": {},
    }
    for kind in by_type:
        for path in sorted(package_dir.glob(f"{kind}-*.json")):
            resource = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(resource.get("url"), str):
                by_type[kind][resource["url"]] = resource
    return by_type


def _bound_value_sets(sds: Iterable[Mapping[str, Any]]) -> set[str]:
    found: set[str] = set()
    for sd in sds:
        for element in (sd.get("snapshot") or {}).get("element", []):
            binding = element.get("binding") or {}
            if binding.get("strength") in ("required", "extensible") and binding.get("valueSet"):
                found.add(canonical_url(binding["valueSet"]))
    return found


def _compiled(compiled_dir: Path | None) -> list[dict[str, Any]]:
    if compiled_dir is None or not compiled_dir.is_dir():
        return []
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(compiled_dir.glob("*.json"))]


def build_subset(package_dir: Path, compiled_dir: Path | None) -> dict[str, Any]:
    package = _read_package(package_dir)
    sds = package["StructureDefinition"]
    chosen = [
        sd
        for sd in sds.values()
        if sd.get("derivation") == "specialization"
        and "snapshot" in sd
        and (
            (sd.get("kind") == "resource" and sd.get("type") in RESOURCE_TYPES)
            or (sd.get("kind") == "complex-type" and not sd.get("abstract"))
        )
    ]
    chosen.sort(key=lambda sd: str(sd["url"]))
    compiled = _compiled(compiled_dir)
    compiled_sds = [r for r in compiled if r.get("resourceType") == "StructureDefinition"]
    wanted = _bound_value_sets(chosen) | _bound_value_sets(compiled_sds)
    local_value_sets = {r["url"] for r in compiled if r.get("resourceType") == "ValueSet"}
    wanted -= local_value_sets

    cache: dict[str, Expansion | None] = {}

    def system_codes(url: str) -> frozenset[str] | None:
        cs = package["CodeSystem"].get(url)
        return all_codes(cs) if cs is not None else None

    def expansion(url: str) -> Expansion | None:
        if url not in cache:
            cache[url] = None
            vs = package["ValueSet"].get(url)
            cache[url] = expand(vs, system_codes, expansion) if vs is not None else None
        return cache[url]

    expansions: dict[str, dict[str, list[str]]] = {}
    for url in sorted(wanted):
        result = expansion(url)
        if result is not None:
            expansions[url] = {s: sorted(c) for s, c in sorted(result.items())}

    systems: dict[str, list[str]] = {}
    for resource in compiled:
        if resource.get("resourceType") != "ValueSet":
            continue
        for part in (resource.get("compose") or {}).get("include", []):
            system = part.get("system")
            if isinstance(system, str) and not part.get("concept"):
                codes = system_codes(system)
                if codes is not None:
                    systems[system] = sorted(codes)

    return {
        "package": CORE_PACKAGE,
        "structureDefinitions": [trim_structure_definition(sd) for sd in chosen],
        "valueSetExpansions": expansions,
        "codeSystems": dict(sorted(systems.items())),
    }


def dump(subset: Mapping[str, Any]) -> str:
    return json.dumps(subset, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--package", type=Path, default=DEFAULT_PACKAGE_DIR)
    parser.add_argument("--compiled", type=Path, default=DEFAULT_COMPILED)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    subset = build_subset(args.package, args.compiled)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(dump(subset), encoding="utf-8")
    print(
        f"wrote {args.out}: {len(subset['structureDefinitions'])} StructureDefinitions, "
        f"{len(subset['valueSetExpansions'])} ValueSet expansions, "
        f"{len(subset['codeSystems'])} CodeSystems"
    )


if __name__ == "__main__":
    main()
