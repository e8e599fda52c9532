"""FHIRPath invariants (StructureDefinition constraints), compiled once and cached.

Every constraint of the profiles in use is parsed by fhirpathpy when the first resource
needs it and kept for the life of the process. Each is evaluated with its element as the
context node, typed (``Extension``, ``QuestionnaireResponse.item`` …) so that choice
elements such as ``value`` resolve, and with ``%resource``/``%rootResource`` set.

The core invariants evaluated on every resource of a request (``ext-1``, ``dom-*``,
``bdl-*``, ``ppc-*``, ``org-1``, ``prr-1``) are also implemented natively: each FHIRPath
evaluation costs tens of microseconds, their Python form a fraction of one. A native
form is used only while the core expression is exactly the one it was written for. A test checks that each native form
agrees with its FHIRPath expression.

An expression fhirpathpy cannot parse or evaluate is skipped and logged once, never
turned into a refusal (or a 500).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fhirpathpy import apply_parsed_path
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.models import models
from fhirpathpy.parser import parse

from gateway.errors import Issue, Severity
from gateway.logging import get_logger

log = get_logger(__name__)

_MODEL = models["r4"]

# Swedish texts for the core invariants of the resources in scope (the core
# StructureDefinitions only carry English). Our own kv-* invariants are Swedish already.
CORE_TEXTS_SV: dict[str, str] = {
    "ext-1": "Ett tillägg (extension) ska ha antingen ett värde eller underliggande tillägg, inte båda.",
    "dom-2": "En inbäddad resurs (contained) får inte själv innehålla inbäddade resurser.",
    "dom-3": "En inbäddad resurs (contained) ska refereras från resursen.",
    "dom-4": "En inbäddad resurs får inte ha meta.versionId eller meta.lastUpdated.",
    "dom-5": "En inbäddad resurs får inte ha säkerhetsmärkning (meta.security).",
    "dom-6": "Resursen bör ha en läsbar text (text.div).",
    "qrs-1": "En fråga i svaret får inte ha både svar och underliggande frågor direkt.",
    "qrs-2": "Underliggande frågor ska ha unika linkId.",
    "que-0": "Frågeformulärets namn ska vara maskinläsbart.",
    "que-1": "En grupp ska ha underliggande frågor; en visningstext får inte ha det.",
    "que-2": "Varje linkId ska vara unikt i frågeformuläret.",
    "que-3": "En visningstext får inte ha en kod.",
    "que-4": "En fråga får inte ha både svarsalternativ och en värdemängd.",
    "que-5": "Svarsalternativ och värdemängd är bara tillåtna för val-frågor.",
    "que-6": "En visningstext får inte vara obligatorisk eller upprepas.",
    "que-8": "Förvalda svar är inte tillåtna för grupper och visningstexter.",
    "que-9": "Visningstexter är alltid skrivskyddade.",
    "que-10": "Maxlängd är bara tillåten för textfrågor.",
    "que-11": "Förvalda svar och svarsalternativ med initialSelected får inte kombineras.",
    "que-12": "enableBehavior ska anges när det finns fler än ett villkor (enableWhen).",
    "que-13": "Bara upprepade frågor får ha flera förvalda svar.",
    "prr-1": "orderDetail får bara anges när code finns.",
    "ppc-1": "Samtycket ska ha en policy eller en policyregel.",
    "inv-1": "Uppgiften får inte vara en del av sig själv.",
    "org-1": "Organisationen ska ha ett namn eller en identifierare.",
    "pat-1": "En kontaktperson ska ha namn, adress, telefon/e-post eller organisation.",
    "per-1": "Periodens start ska ligga före dess slut.",
    "cpt-2": "Ett kontaktsätt (telefon, e-post …) ska anges när en kontaktuppgift finns.",
    "ref-1": "En lokal referens (#…) ska peka på en inbäddad resurs.",
}
DEFAULT_TEXT_SV = "Resursen bryter mot regeln {key}."
BEST_PRACTICE = frozenset({"dom-6"})
"""Core "should" rules, reported as information rather than as warnings."""
_QUIET = {"traceFn": lambda *_args: None}  # trace() in core expressions must not print


@dataclass(frozen=True, slots=True)
class Constraint:
    key: str
    severity: Severity
    human: str
    expression: str


def constraint_from(raw: Mapping[str, Any]) -> Constraint:
    return Constraint(
        key=str(raw.get("key")),
        severity=Severity.WARNING if raw.get("severity") == "warning" else Severity.ERROR,
        human=str(raw.get("human") or ""),
        expression=str(raw.get("expression")),
    )


Native = Callable[[Mapping[str, Any], Mapping[str, Any]], bool | None]
"""(node, root) -> whether the invariant holds; None = let FHIRPath decide."""


def _list(node: Mapping[str, Any], key: str) -> list[Any]:
    value = node.get(key)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _maps(node: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    return [v for v in _list(node, key) if isinstance(v, Mapping)]


def _ext_1(node: Mapping[str, Any], _root: Mapping[str, Any]) -> bool:
    has_extension = bool(node.get("extension"))
    has_value = any(k.startswith("value") and k[5:6].isupper() for k in node)
    return has_extension != has_value


def _dom_2(node: Mapping[str, Any], _root: Mapping[str, Any]) -> bool:
    return not any(c.get("contained") for c in _maps(node, "contained"))


def _dom_3(node: Mapping[str, Any], _root: Mapping[str, Any]) -> bool | None:
    return True if not node.get("contained") else None  # the common case; else FHIRPath


def _contained_meta(node: Mapping[str, Any], *keys: str) -> bool:
    for contained in _maps(node, "contained"):
        meta = contained.get("meta")
        if isinstance(meta, Mapping) and any(meta.get(k) for k in keys):
            return False
    return True


def _dom_6(node: Mapping[str, Any], _root: Mapping[str, Any]) -> bool:
    text = node.get("text")
    return isinstance(text, Mapping) and bool(text.get("div"))


def _bdl_7(node: Mapping[str, Any], _root: Mapping[str, Any]) -> bool:
    if node.get("type") == "history":
        return True
    keys: list[str] = []
    for entry in _maps(node, "entry"):
        full_url = entry.get("fullUrl")
        if full_url is None:
            continue
        resource = entry.get("resource")
        meta = resource.get("meta") if isinstance(resource, Mapping) else None
        version = meta.get("versionId") if isinstance(meta, Mapping) else None
        keys.append(f"{full_url}{version or ''}")
    return len(keys) == len(set(keys))


def _first_resource_type(node: Mapping[str, Any]) -> str | None:
    entries = _maps(node, "entry")
    resource = entries[0].get("resource") if entries else None
    return str(resource.get("resourceType")) if isinstance(resource, Mapping) else None


def _implies_first(node: Mapping[str, Any], bundle_type: str, resource_type: str) -> bool:
    if node.get("type") != bundle_type:
        return True
    first = _first_resource_type(node)
    return first is None or first == resource_type


def _bdl_9(node: Mapping[str, Any], _root: Mapping[str, Any]) -> bool:
    if node.get("type") != "document":
        return True
    identifier = node.get("identifier")
    return isinstance(identifier, Mapping) and "system" in identifier and "value" in identifier


def _no_scope_code(node: Mapping[str, Any], code: str) -> bool:
    if node.get("patient") is not None:
        return True
    scope = node.get("scope")
    codings = _maps(scope, "coding") if isinstance(scope, Mapping) else []
    return not any(c.get("system") == "something" and c.get("code") == code for c in codings)


_BATCHES = ("batch", "transaction", "history")
_RESPONSES = ("batch-response", "transaction-response", "history")

NATIVE: dict[str, tuple[str, Native]] = {
    # key: (the exact core expression the native form replaces, the native form)
    "ext-1": ("extension.exists() != value.exists()", _ext_1),
    "dom-2": ("contained.contained.empty()", _dom_2),
    "dom-3": (
        "contained.where((('#'+id in (%resource.descendants().reference | "
        "%resource.descendants().as(canonical) | %resource.descendants().as(uri) | "
        "%resource.descendants().as(url))) or descendants().where(reference = '#').exists() "
        "or descendants().where(as(canonical) = '#').exists() or "
        "descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()",
        _dom_3,
    ),
    "dom-4": (
        "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()",
        lambda n, _r: _contained_meta(n, "versionId", "lastUpdated"),
    ),
    "dom-5": ("contained.meta.security.empty()", lambda n, _r: _contained_meta(n, "security")),
    "dom-6": ("text.`div`.exists()", _dom_6),
    "bdl-1": (
        "total.empty() or (type = 'searchset') or (type = 'history')",
        lambda n, _r: n.get("total") is None or n.get("type") in ("searchset", "history"),
    ),
    "bdl-2": (
        "entry.search.empty() or (type = 'searchset')",
        lambda n, _r: (
            n.get("type") == "searchset" or not any(e.get("search") for e in _maps(n, "entry"))
        ),
    ),
    "bdl-3": (
        "entry.all(request.exists() = (%resource.type = 'batch' or "
        "%resource.type = 'transaction' or %resource.type = 'history'))",
        lambda n, r: all(
            (e.get("request") is not None) == (r.get("type") in _BATCHES) for e in _maps(n, "entry")
        ),
    ),
    "bdl-4": (
        "entry.all(response.exists() = (%resource.type = 'batch-response' or "
        "%resource.type = 'transaction-response' or %resource.type = 'history'))",
        lambda n, r: all(
            (e.get("response") is not None) == (r.get("type") in _RESPONSES)
            for e in _maps(n, "entry")
        ),
    ),
    "bdl-5": (
        "resource.exists() or request.exists() or response.exists()",
        lambda n, _r: any(n.get(k) is not None for k in ("resource", "request", "response")),
    ),
    "bdl-7": (
        "(type = 'history') or entry.where(fullUrl.exists())"
        ".select(fullUrl&resource.meta.versionId).isDistinct()",
        _bdl_7,
    ),
    "bdl-8": (
        "fullUrl.contains('/_history/').not()",
        lambda n, _r: not (isinstance(n.get("fullUrl"), str) and "/_history/" in n["fullUrl"]),
    ),
    "bdl-9": (
        "type = 'document' implies (identifier.system.exists() and identifier.value.exists())",
        _bdl_9,
    ),
    "bdl-10": (
        "type = 'document' implies (timestamp.hasValue())",
        lambda n, _r: n.get("type") != "document" or isinstance(n.get("timestamp"), str),
    ),
    "bdl-11": (
        "type = 'document' implies entry.first().resource.is(Composition)",
        lambda n, _r: _implies_first(n, "document", "Composition"),
    ),
    "bdl-12": (
        "type = 'message' implies entry.first().resource.is(MessageHeader)",
        lambda n, _r: _implies_first(n, "message", "MessageHeader"),
    ),
    "ppc-1": (
        "policy.exists() or policyRule.exists()",
        lambda n, _r: bool(n.get("policy")) or n.get("policyRule") is not None,
    ),
    **{
        f"ppc-{i}": (
            f"patient.exists() or scope.coding.where(system='something' and code='{code}')"
            ".exists().not()",
            (lambda c: lambda n, _r: _no_scope_code(n, c))(code),
        )
        for i, code in ((2, "patient-privacy"), (3, "research"), (4, "adr"), (5, "treatment"))
    },
    "org-1": (
        "(identifier.count() + name.count()) > 0",
        lambda n, _r: bool(n.get("identifier")) or n.get("name") is not None,
    ),
    "prr-1": (
        "orderDetail.empty() or code.exists()",
        lambda n, _r: not n.get("orderDetail") or n.get("code") is not None,
    ),
}


class InvariantEngine:
    """Evaluates constraints; parsed expressions are cached by their text."""

    def __init__(self, *, native: bool = True) -> None:
        self._parsed: dict[str, Any] = {}
        self._broken: set[str] = set()
        self._native = native

    def _compiled(self, expression: str) -> Any:
        parsed = self._parsed.get(expression)
        if parsed is None and expression not in self._broken:
            try:
                parsed = parse(expression)  # type: ignore[no-untyped-call]
            except Exception as error:  # fhirpathpy raises assorted errors on bad syntax
                self._broken.add(expression)
                log.warning(
                    "fhirpath_unparseable", expression=expression, error=type(error).__name__
                )
                return None
            self._parsed[expression] = parsed
        return parsed

    def precompile(self, constraint: Constraint) -> None:
        self._compiled(constraint.expression)

    def holds(
        self, constraint: Constraint, node: Any, type_path: str, root: Mapping[str, Any]
    ) -> bool | None:
        """Whether ``constraint`` holds on ``node``; ``None`` when it cannot be evaluated."""
        if self._native and isinstance(node, Mapping):
            native = NATIVE.get(constraint.key)
            if native is not None and native[0] == constraint.expression:
                verdict = native[1](node, root)
                if verdict is not None:
                    return verdict
        parsed = self._compiled(constraint.expression)
        if parsed is None:
            return None
        try:
            result = apply_parsed_path(  # type: ignore[no-untyped-call]
                ResourceNode.create_node(node, type_path),  # type: ignore[no-untyped-call]
                parsed,
                {"resource": root, "rootResource": root},
                _MODEL,
                _QUIET,
            )
        except Exception as error:  # an engine gap must not become a refusal or a 500
            if constraint.expression not in self._broken:
                self._broken.add(constraint.expression)
                log.warning(
                    "fhirpath_evaluation_failed", key=constraint.key, error=type(error).__name__
                )
            return None
        # An empty result does not violate the invariant; only a single false does.
        return not (isinstance(result, list) and result == [False])

    def issue(self, constraint: Constraint, expression: str) -> Issue:
        text = constraint.human
        if not constraint.key.startswith("kv-"):
            text = CORE_TEXTS_SV.get(constraint.key, DEFAULT_TEXT_SV.format(key=constraint.key))
        severity = constraint.severity
        if constraint.key in BEST_PRACTICE:
            severity = Severity.INFORMATION
        return Issue(
            code="invariant",
            text_sv=text,
            severity=severity,
            expression=(expression,),
            diagnostics=f"Constraint {constraint.key} failed: {constraint.expression}",
        )
