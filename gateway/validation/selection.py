"""Which StructureDefinitions a resource is checked against, and the step that does it.

The rule (README, *Validation*):

1. **Always:** the core StructureDefinition of the resource's type, i.e. the required
   bindings of the core codes (``ServiceRequest.status = "bogus"`` is refused), on every
   write, whatever the resource claims. The core invariants come with every profile of
   ours; without one they are checked for the types in
   ``ProfileSelection.core_invariant_types`` (Questionnaire and QuestionnaireResponse:
   ``que-*``, ``qrs-*``) and in strict mode.
2. **Claimed:** every profile in ``meta.profile`` that the gateway knows. A resource that
   says it is a kv-gateway ServiceRequest is held to it. Unknown profiles are reported
   as information and not checked.
3. **Asked for:** profiles named by the caller (``$validate`` with ``profile``), and, in
   *strict* mode, our default profile for the type (:data:`DEFAULT_PROFILES`). ``$validate``
   is strict; ordinary writes are not, unless the type is listed in
   ``ProfileSelection.enforce_on_write`` (empty by default). So existing clients that
   store plain FHIR resources without ``meta.profile`` keep working, while everything
   the workflow produces (it sets ``meta.profile``) and everything a client declares as
   ours is held to our profiles.

A profile of ours includes the core definition, so the core definition is checked on its
own only when no profile of ours applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.canonical import profile
from gateway.errors import Issue, Severity
from gateway.validation.conformance import Conformance, core_profile
from gateway.validation.options import current_options
from gateway.validation.profile import ProfileChecker
from gateway.validation.terminology import canonical_url

DEFAULT_PROFILES: dict[str, str] = {
    "ServiceRequest": profile("kv-servicerequest"),
    "Consent": profile("kv-consent"),
    "Task": profile("kv-task"),
    "QuestionnaireResponse": profile("kv-questionnaireresponse"),
    "Patient": profile("kv-patient"),
    "Endpoint": profile("kv-endpoint"),
}
"""Our profile for each type that has exactly one. Organization and PractitionerRole have
two each (kommun/vårdcentral, socialsekreterare/rehabkoordinator) and so no default: they
are held to the one they claim in meta.profile."""


@dataclass(frozen=True, eq=False)
class ProfileSelection:
    defaults: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_PROFILES))
    enforce_on_write: frozenset[str] = frozenset()
    """Types held to their default profile on every write, not only in strict mode."""
    core_invariant_types: frozenset[str] = frozenset({"Questionnaire", "QuestionnaireResponse"})
    """Types whose core invariants are checked even when no profile of ours applies."""

    def select(
        self,
        resource: Mapping[str, Any],
        conformance: Conformance,
        requested: tuple[str, ...] = (),
        *,
        strict: bool = False,
    ) -> tuple[list[str], list[str]]:
        """(profiles to check, claimed profiles that are unknown)."""
        resource_type = str(resource.get("resourceType"))
        chosen: list[str] = []
        unknown: list[str] = []
        meta = resource.get("meta")
        claimed = meta.get("profile") if isinstance(meta, Mapping) else None
        for url in [*(claimed if isinstance(claimed, list) else []), *requested]:
            if not isinstance(url, str):
                continue
            if conformance.structure(url) is None:
                unknown.append(url)
            elif canonical_url(url) not in chosen:
                chosen.append(canonical_url(url))
        default = self.defaults.get(resource_type)
        if (
            default
            and (strict or resource_type in self.enforce_on_write)
            and conformance.structure(default) is not None
            and default not in chosen
        ):
            chosen.append(default)
        if not any(url in conformance.local_profiles for url in chosen):
            core = core_profile(resource_type)
            if conformance.structure(core) is not None and core not in chosen:
                chosen.insert(0, core)
        return chosen, unknown


class ProfileValidator:
    """Pipeline step: the selected StructureDefinitions (profile walk and invariants)."""

    def __init__(
        self,
        conformance: Conformance,
        checker: ProfileChecker | None = None,
        selection: ProfileSelection | None = None,
    ) -> None:
        self.conformance = conformance
        self.checker = checker or ProfileChecker(conformance)
        self.selection = selection or ProfileSelection()

    def __call__(self, resource: dict[str, Any]) -> list[Issue]:
        options = current_options()
        chosen, unknown = self.selection.select(
            resource, self.conformance, options.profiles, strict=options.strict
        )
        issues: list[Issue] = []
        resource_type = str(resource.get("resourceType"))
        for url in unknown:
            asked = url in options.profiles
            issues.append(
                Issue(
                    "not-supported",
                    "Profilen är okänd för gatewayen och har inte kontrollerats.",
                    Severity.ERROR if asked else Severity.INFORMATION,
                    (f"{resource_type}.meta.profile",) if not asked else (),
                    f"profile {url} is not known to this server",
                )
            )
        for url in chosen:
            index = self.conformance.structure(url)
            if index is not None and index.type != resource_type:
                issues.append(
                    Issue(
                        "invalid",
                        "Profilen gäller en annan resurstyp.",
                        Severity.ERROR,
                        (resource_type,),
                        f"profile {url} constrains {index.type}, not {resource_type}",
                    )
                )
                continue
            invariants = (
                url in self.conformance.local_profiles
                or options.strict
                or resource_type in self.selection.core_invariant_types
            )
            issues.extend(self.checker.check(resource, url, invariants=invariants))
        return issues


DEFAULT_SELECTION = ProfileSelection()
