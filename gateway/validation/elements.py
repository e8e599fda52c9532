"""A StructureDefinition's snapshot as a tree of element definitions, built once.

Validation walks a resource and this tree side by side; everything a walk needs per
element (cardinality, fixed/pattern value, allowed types, binding, constraints, slices
and how to tell them apart) is computed here at start-up, not per request.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.validation.invariants import Constraint, constraint_from

FHIR_PRIMITIVES = frozenset(
    {
        "base64Binary",
        "boolean",
        "canonical",
        "code",
        "date",
        "dateTime",
        "decimal",
        "id",
        "instant",
        "integer",
        "markdown",
        "oid",
        "positiveInt",
        "string",
        "time",
        "unsignedInt",
        "uri",
        "url",
        "uuid",
        "xhtml",
    }
)
FHIR_COMPLEX = frozenset(
    {
        "Address",
        "Age",
        "Annotation",
        "Attachment",
        "CodeableConcept",
        "Coding",
        "ContactDetail",
        "ContactPoint",
        "Contributor",
        "Count",
        "DataRequirement",
        "Distance",
        "Dosage",
        "Duration",
        "Expression",
        "Extension",
        "HumanName",
        "Identifier",
        "Meta",
        "Money",
        "Narrative",
        "ParameterDefinition",
        "Period",
        "Quantity",
        "Range",
        "Ratio",
        "Reference",
        "RelatedArtifact",
        "SampledData",
        "Signature",
        "Timing",
        "TriggerDefinition",
        "UsageContext",
    }
)
CHOICE_SUFFIXES: dict[str, str] = {
    **{p[0].upper() + p[1:]: p for p in FHIR_PRIMITIVES},
    **{c: c for c in FHIR_COMPLEX},
}
"""JSON key suffix of a choice element (``valueString``) -> FHIR type code."""


@dataclass(frozen=True, slots=True)
class TypeRef:
    code: str
    profiles: tuple[str, ...] = ()
    target_profiles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Discriminator:
    """How to recognise one slice: the value at ``path`` equals (or contains) ``expected``."""

    path: tuple[str, ...]
    expected: Any
    pattern: bool


@dataclass(eq=False, slots=True)
class ElementDef:
    id: str
    path: str
    name: str
    slice_name: str | None
    min: int
    max: int | None
    types: tuple[TypeRef, ...]
    fixed: Any = None
    has_fixed: bool = False
    pattern: Any = None
    has_pattern: bool = False
    binding: tuple[str, str] | None = None
    constraints: tuple[Constraint, ...] = ()
    must_support: bool = False
    min_value: float | None = None
    max_value: float | None = None
    content_reference: str | None = None
    slicing_paths: tuple[str, ...] | None = None
    """Discriminator paths when the element is sliced by value/pattern (else None)."""
    slicing_closed: bool = False
    children: list[ElementDef] = field(default_factory=list)
    slices: list[ElementDef] = field(default_factory=list)
    discriminators: tuple[Discriminator, ...] | None = None
    """For a slice: how to recognise it; None when it cannot be recognised."""
    target: ElementDef | None = None
    """For a contentReference: the element whose children apply."""

    @property
    def is_choice(self) -> bool:
        return self.name.endswith("[x]")

    @property
    def single_type(self) -> str | None:
        return self.types[0].code if len(self.types) == 1 else None

    def type_path(self, type_code: str | None) -> str:
        """The FHIRPath type of a value of this element (for typed evaluation)."""
        if type_code in FHIR_COMPLEX:
            return type_code
        if self.target is not None:
            return self.target.path
        return self.path

    def child_elements(self) -> list[ElementDef]:
        return self.target.children if self.target is not None else self.children

    def walk(self) -> Iterator[ElementDef]:
        yield self
        for child in self.children:
            yield from child.walk()
        for slice_ in self.slices:
            yield from slice_.walk()


def _number(raw: Mapping[str, Any], prefix: str) -> float | None:
    for key, value in raw.items():
        if (
            key.startswith(prefix)
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            return float(value)
    return None


def _element(raw: Mapping[str, Any]) -> ElementDef:
    element_id = str(raw.get("id") or raw["path"])
    path = str(raw["path"])
    raw_max = str(raw.get("max", "*"))
    element = ElementDef(
        id=element_id,
        path=path,
        name=path.rsplit(".", 1)[-1],
        slice_name=raw.get("sliceName"),
        min=int(raw.get("min", 0)),
        max=None if raw_max == "*" else int(raw_max),
        types=tuple(
            TypeRef(
                code=str(t.get("code")),
                profiles=tuple(t.get("profile") or ()),
                target_profiles=tuple(t.get("targetProfile") or ()),
            )
            for t in raw.get("type") or ()
        ),
        must_support=bool(raw.get("mustSupport")),
        min_value=_number(raw, "minValue"),
        max_value=_number(raw, "maxValue"),
        content_reference=raw.get("contentReference"),
    )
    for key, value in raw.items():
        if key.startswith("fixed"):
            element.fixed, element.has_fixed = value, True
        elif key.startswith("pattern"):
            element.pattern, element.has_pattern = value, True
    binding = raw.get("binding")
    if (
        isinstance(binding, Mapping)
        and binding.get("strength") in ("required", "extensible")
        and binding.get("valueSet")
    ):
        element.binding = (str(binding["strength"]), str(binding["valueSet"]))
    element.constraints = tuple(
        constraint_from(c)
        for c in raw.get("constraint") or ()
        if c.get("expression") and c.get("key") != "ele-1"
    )
    slicing = raw.get("slicing")
    if isinstance(slicing, Mapping):
        discriminators = slicing.get("discriminator") or []
        if discriminators and all(d.get("type") in ("value", "pattern") for d in discriminators):
            element.slicing_paths = tuple(str(d.get("path")) for d in discriminators)
        element.slicing_closed = slicing.get("rules") == "closed"
    return element


def _find_descendant(element: ElementDef, path: tuple[str, ...]) -> ElementDef | None:
    current = element
    for name in path:
        found = next((c for c in current.children if c.name == name), None)
        if found is None:
            return None
        current = found
    return current


def _discriminators(base: ElementDef, slice_: ElementDef) -> tuple[Discriminator, ...] | None:
    result: list[Discriminator] = []
    for raw_path in base.slicing_paths or ():
        path = () if raw_path == "$this" else tuple(raw_path.split("."))
        target = _find_descendant(slice_, path)
        if target is not None and target.has_fixed:
            result.append(Discriminator(path, target.fixed, pattern=False))
        elif target is not None and target.has_pattern:
            result.append(Discriminator(path, target.pattern, pattern=True))
        elif path == ("url",) and slice_.types and slice_.types[0].profiles:
            # an extension slice: its url is the url of the extension's profile
            result.append(Discriminator(path, slice_.types[0].profiles[0], pattern=False))
        else:
            return None
    return tuple(result)


@dataclass(eq=False)
class StructureIndex:
    url: str
    type: str
    kind: str
    root: ElementDef
    by_path: dict[str, ElementDef]

    @classmethod
    def build(cls, sd: Mapping[str, Any]) -> StructureIndex:
        raw_elements = sd["snapshot"]["element"]
        by_id: dict[str, ElementDef] = {}
        root = _element(raw_elements[0])
        by_id[root.id] = root
        for raw in raw_elements[1:]:
            element = _element(raw)
            by_id[element.id] = element
            parent_id, last = element.id.rsplit(".", 1)
            parent = by_id.get(parent_id)
            if ":" in last:
                base = by_id.get(f"{parent_id}.{last.split(':', 1)[0]}")
                if base is not None and element.slice_name is not None:
                    base.slices.append(element)
                continue
            if parent is not None:
                parent.children.append(element)
        by_path = {e.path: e for e in by_id.values() if ":" not in e.id}
        for element in by_id.values():
            if element.content_reference:
                element.target = by_path.get(element.content_reference.split("#", 1)[-1])
            for slice_ in element.slices:
                slice_.discriminators = (
                    _discriminators(element, slice_) if element.slicing_paths else None
                )
        return cls(
            url=str(sd["url"]),
            type=str(sd.get("type")),
            kind=str(sd.get("kind")),
            root=root,
            by_path=by_path,
        )

    def bound_value_sets(self) -> set[str]:
        return {e.binding[1] for e in self.root.walk() if e.binding is not None}

    def constraints(self) -> Iterator[Constraint]:
        for element in self.root.walk():
            yield from element.constraints
