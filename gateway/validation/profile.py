"""Check a resource against one StructureDefinition (a profile or a core type).

The resource and the profile's element tree (:mod:`gateway.validation.elements`) are
walked together. Per element: cardinality, allowed types of choice elements, fixed and
pattern values, required and extensible bindings (:mod:`gateway.validation.terminology`),
reference targets (by the referenced resource type, which is cheap; the referenced
resource itself is not fetched), min/max values, slices recognised by value or pattern
(identifier system, extension url, coded type) with their own cardinality and rules, and
the element's FHIRPath invariants (:mod:`gateway.validation.invariants`). Elements the
profile does not constrain are checked against their core data type
(``Identifier.use``, ``ContactPoint.system`` …) when that type has anything to check.
Absent mustSupport elements of our own profiles are reported as information.

Expressions are FHIRPath in the style of the HL7 validator: zero-based list indexes and
``ofType()`` for choice elements, e.g.
``ServiceRequest.extension[0].extension[0].value.ofType(CodeableConcept)``. Submitted values are
never quoted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import Issue, Severity
from gateway.validation.conformance import Conformance
from gateway.validation.elements import CHOICE_SUFFIXES, FHIR_COMPLEX, ElementDef, TypeRef
from gateway.validation.invariants import InvariantEngine

NO_WALK_TYPES = frozenset({"Resource", "BackboneElement", "Element", "xhtml", "Narrative"})


def matches_pattern(value: Any, pattern: Any) -> bool:
    """FHIR pattern semantics: ``value`` holds at least what ``pattern`` says."""
    if isinstance(pattern, Mapping):
        if not isinstance(value, Mapping):
            return False
        return all(matches_pattern(value.get(k), v) for k, v in pattern.items())
    if isinstance(pattern, list):
        if not isinstance(value, list):
            value = [] if value is None else [value]
        return all(any(matches_pattern(v, p) for v in value) for p in pattern)
    return bool(value == pattern)


def _at(value: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        if isinstance(value, list):
            value = value[0] if len(value) == 1 else None
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def _matches_slice(value: Any, slice_: ElementDef) -> bool:
    if not slice_.discriminators:
        return False
    for d in slice_.discriminators:
        actual = _at(value, d.path)
        if d.pattern:
            if not matches_pattern(actual, d.expected):
                return False
        elif actual != d.expected:
            return False
    return True


def referenced_type(reference: str) -> str | None:
    """``Patient`` for ``Patient/1``, ``https://x/fhir/Patient/1/_history/2``; else None."""
    if reference.startswith(("#", "urn:")):
        return None
    parts = reference.split("?", 1)[0].rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) < 2:
        return None
    candidate = parts[-2]
    return candidate if candidate[:1].isupper() and candidate.isalnum() else None


def _count_text(n: int) -> str:
    return "en gång" if n == 1 else f"{n} gånger"


@dataclass
class _Walk:
    root: Mapping[str, Any]
    local: bool
    invariants: bool = True
    issues: list[Issue] = field(default_factory=list)

    def add(
        self,
        code: str,
        text_sv: str,
        expression: str,
        diagnostics: str,
        severity: Severity = Severity.ERROR,
    ) -> None:
        self.issues.append(Issue(code, text_sv, severity, (expression,), diagnostics))


class ProfileChecker:
    """Checks resources against StructureDefinitions from one :class:`Conformance`."""

    def __init__(
        self,
        conformance: Conformance,
        engine: InvariantEngine | None = None,
        *,
        report_must_support: bool = True,
    ) -> None:
        self.conformance = conformance
        self.engine = engine or InvariantEngine()
        self.report_must_support = report_must_support
        self._datatype_checks: dict[str, bool] = {}
        for index in conformance.structures.values():  # parse every FHIRPath at start-up
            for constraint in index.constraints():
                self.engine.precompile(constraint)

    def check(
        self, resource: Mapping[str, Any], profile_url: str, *, invariants: bool = True
    ) -> list[Issue]:
        """Every issue of ``resource`` against ``profile_url`` (``invariants=False``
        leaves out the FHIRPath constraints)."""
        index = self.conformance.structure(profile_url)
        if index is None:
            return []
        walk = _Walk(
            root=resource,
            local=profile_url in self.conformance.local_profiles,
            invariants=invariants,
        )
        resource_type = str(resource.get("resourceType"))
        self._value(resource, index.root, resource_type, resource_type, walk, top=True)
        return walk.issues

    # ----- one value against one element definition -----------------------------------

    def _value(
        self,
        value: Any,
        element: ElementDef,
        expr: str,
        type_code: str | None,
        walk: _Walk,
        *,
        top: bool = False,
    ) -> None:
        if element.has_fixed and value != element.fixed:
            walk.add(
                "value",
                "Elementet har fel värde. Profilen kräver ett bestämt värde.",
                expr,
                f"value differs from the fixed value required by {element.id}",
            )
        if element.has_pattern and not matches_pattern(value, element.pattern):
            walk.add(
                "value",
                "Elementet har fel värde. Profilen kräver ett bestämt värde (eller kod).",
                expr,
                f"value does not match the pattern required by {element.id}",
            )
        if element.binding is not None and type_code is not None:
            self._binding(value, element.binding, type_code, expr, walk)
        if type_code == "Reference" and isinstance(value, Mapping):
            self._reference_target(value, element, expr, walk)
        if element.min_value is not None or element.max_value is not None:
            self._bounds(value, element, expr, walk)
        for constraint in element.constraints if walk.invariants else ():
            holds = self.engine.holds(constraint, value, element.type_path(type_code), walk.root)
            if holds is False:
                walk.issues.append(self.engine.issue(constraint, expr))
        if not isinstance(value, Mapping):
            return
        children = element.child_elements()
        if children:
            self._children(value, element, children, expr, walk, top=top)
            return
        if type_code is None or type_code in NO_WALK_TYPES:
            return
        if type_code == "Extension":
            profiles = element.types[0].profiles if element.types else ()
            for url in profiles:
                extension = self.conformance.structure(url)
                if extension is not None:
                    self._value(value, extension.root, expr, "Extension", walk)
                    return
        if type_code in FHIR_COMPLEX and self._datatype_has_checks(type_code):
            datatype = self.conformance.datatype(type_code)
            if datatype is not None:
                self._children(value, datatype.root, datatype.root.children, expr, walk)

    def _children(
        self,
        node: Mapping[str, Any],
        element: ElementDef,
        children: list[ElementDef],
        expr: str,
        walk: _Walk,
        *,
        top: bool = False,
    ) -> None:
        for child in children:
            if child.is_choice:
                self._choice(node, child, expr, walk)
                continue
            raw = node.get(child.name)
            if (
                (raw is None or raw == [])
                and not child.min
                and not child.slices
                and not (top and walk.local and child.must_support)
            ):
                continue  # absent and optional: nothing to check (most elements, most times)
            values = raw if isinstance(raw, list) else ([] if raw is None else [raw])
            self._cardinality(child, len(values), f"{expr}.{child.name}", walk)
            if not values and top and walk.local and child.must_support:
                if self.report_must_support:
                    walk.add(
                        "informational",
                        f"Elementet {child.name} stöds av mottagaren (mustSupport) "
                        "men saknas. Ange det om uppgiften finns.",
                        f"{expr}.{child.name}",
                        f"mustSupport element {child.id} is absent",
                        Severity.INFORMATION,
                    )
                continue
            type_code = child.single_type
            listed = isinstance(raw, list)
            paths = [
                f"{expr}.{child.name}[{i}]" if listed else f"{expr}.{child.name}"
                for i in range(len(values))
            ]
            for value, path in zip(values, paths, strict=True):
                self._value(value, child, path, type_code, walk)
            if child.slices:
                self._slices(values, paths, child, f"{expr}.{child.name}", type_code, walk)

    def _choice(self, node: Mapping[str, Any], element: ElementDef, expr: str, walk: _Walk) -> None:
        prefix = element.name[:-3]
        found = [
            (key, CHOICE_SUFFIXES[key[len(prefix) :]])
            for key in node
            if key.startswith(prefix) and key[len(prefix) :] in CHOICE_SUFFIXES
        ]
        self._cardinality(element, len(found), f"{expr}.{element.name}", walk)
        allowed = {t.code for t in element.types}
        for key, type_code in found:
            path = f"{expr}.{prefix}.ofType({type_code})"
            if allowed and type_code not in allowed:
                walk.add(
                    "structure",
                    "Elementet har en datatyp som profilen inte tillåter.",
                    path,
                    f"{element.id} allows only {', '.join(sorted(allowed))}",
                )
                continue
            self._value(node[key], element, path, type_code, walk)

    def _cardinality(self, element: ElementDef, count: int, expr: str, walk: _Walk) -> None:
        name = element.slice_name or element.name
        if count < element.min:
            walk.add(
                "required",
                f"Elementet {name} saknas men krävs (minst {_count_text(element.min)}).",
                expr,
                f"{element.id}: minimum cardinality {element.min}, found {count}",
            )
        elif element.max is not None and count > element.max:
            text = (
                f"Elementet {name} är inte tillåtet här."
                if element.max == 0
                else f"Elementet {name} får förekomma högst {_count_text(element.max)}."
            )
            walk.add(
                "structure",
                text,
                expr,
                f"{element.id}: maximum cardinality {element.max}, found {count}",
            )

    def _slices(
        self,
        values: list[Any],
        paths: list[str],
        element: ElementDef,
        expr: str,
        type_code: str | None,
        walk: _Walk,
    ) -> None:
        if element.slicing_paths is None:
            return  # discriminators of other kinds (type, profile, exists) are not evaluated
        counts = dict.fromkeys(element.slices, 0)
        for value, path in zip(values, paths, strict=True):
            slice_ = next((s for s in element.slices if _matches_slice(value, s)), None)
            if slice_ is None:
                if element.slicing_closed:
                    walk.add(
                        "structure",
                        f"Elementet {element.name} har en förekomst som profilen inte tillåter.",
                        path,
                        f"{element.id}: no slice matches and slicing is closed",
                    )
                continue
            counts[slice_] += 1
            self._value(value, slice_, path, slice_.single_type or type_code, walk)
        for slice_, count in counts.items():
            if slice_.discriminators is not None:
                self._cardinality(slice_, count, expr, walk)

    # ----- single checks -------------------------------------------------------------

    def _binding(
        self, value: Any, binding: tuple[str, str], type_code: str, expr: str, walk: _Walk
    ) -> None:
        strength, value_set = binding
        terminology = self.conformance.terminology
        verdict: bool | None
        if type_code in ("code", "string", "uri") and isinstance(value, str):
            verdict = terminology.contains_code(value_set, value)
        elif type_code == "Coding" and isinstance(value, Mapping):
            verdict = terminology.contains_coding(value_set, value.get("system"), value.get("code"))
        elif type_code == "CodeableConcept" and isinstance(value, Mapping):
            codings = [c for c in value.get("coding") or [] if isinstance(c, Mapping)]
            if not terminology.knows(value_set):
                return
            if not codings and strength == "extensible":
                return  # text alone is acceptable for an extensible binding
            verdict = any(
                terminology.contains_coding(value_set, c.get("system"), c.get("code"))
                for c in codings
            )
        else:
            return
        if verdict is not False:
            return
        title = self.conformance.value_set_titles.get(value_set.split("|", 1)[0])
        what = f"värdemängden {title}" if title else "den tillåtna värdemängden"
        if strength == "required":
            walk.add(
                "code-invalid",
                f"Koden finns inte i {what}. Välj en av de tillåtna koderna.",
                expr,
                f"code not in required ValueSet {value_set}",
            )
        else:
            walk.add(
                "code-invalid",
                f"Koden finns inte i {what}. Använd en av dess koder om någon passar.",
                expr,
                f"code not in extensible ValueSet {value_set}",
                Severity.WARNING,
            )

    def _reference_target(
        self, value: Mapping[str, Any], element: ElementDef, expr: str, walk: _Walk
    ) -> None:
        targets = {tp for t in element.types for tp in t.target_profiles}
        reference = value.get("reference")
        if not targets or not isinstance(reference, str):
            return
        actual = referenced_type(reference)
        if actual is None:
            return
        allowed = {self.conformance.profile_type(tp) or tp.rsplit("/", 1)[-1] for tp in targets}
        if "Resource" in allowed or actual in allowed:
            return
        walk.add(
            "structure",
            "Referensen pekar på fel typ av resurs. Tillåtet: " + ", ".join(sorted(allowed)) + ".",
            f"{expr}.reference",
            f"{element.id} may refer to {', '.join(sorted(allowed))} only",
        )

    def _bounds(self, value: Any, element: ElementDef, expr: str, walk: _Walk) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        if element.min_value is not None and value < element.min_value:
            walk.add(
                "value",
                f"Värdet är för litet. Det minsta tillåtna är {element.min_value:g}.",
                expr,
                f"{element.id}: below minValue {element.min_value:g}",
            )
        if element.max_value is not None and value > element.max_value:
            walk.add(
                "value",
                f"Värdet är för stort. Det största tillåtna är {element.max_value:g}.",
                expr,
                f"{element.id}: above maxValue {element.max_value:g}",
            )

    def _datatype_has_checks(self, type_code: str, seen: frozenset[str] = frozenset()) -> bool:
        cached = self._datatype_checks.get(type_code)
        if cached is not None:
            return cached
        index = self.conformance.datatype(type_code)
        result = False
        if index is not None:
            for element in index.root.walk():
                if element is index.root:
                    continue
                if element.binding or element.constraints or element.has_fixed:
                    result = True
                    break
                if any(self._nested_checks(t, seen | {type_code}) for t in element.types):
                    result = True
                    break
        self._datatype_checks[type_code] = result
        return result

    def _nested_checks(self, type_ref: TypeRef, seen: frozenset[str]) -> bool:
        code = type_ref.code
        if code in seen or code not in FHIR_COMPLEX or code == "Extension":
            return False
        return self._datatype_has_checks(code, seen)
