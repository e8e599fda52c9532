"""Assemble the validator the app uses (``app.state.validator``).

Steps, in order: structure (fhir.resources), profiles and invariants (core definition,
claimed and requested profiles; :mod:`gateway.validation.selection`), Swedish
identifiers, and QuestionnaireResponse against its Questionnaire. The conformance
artifacts are loaded and indexed once per process and directory.
"""

from __future__ import annotations

import functools
from pathlib import Path

from gateway.settings import Settings
from gateway.validation.conformance import DEFAULT_COMPILED_DIR, Conformance, load_conformance
from gateway.validation.identifier_checks import IdentifierValidator
from gateway.validation.pipeline import ValidationPipeline
from gateway.validation.profile import ProfileChecker
from gateway.validation.questionnaire_response import QuestionnaireResponseValidator
from gateway.validation.selection import DEFAULT_SELECTION, ProfileSelection, ProfileValidator
from gateway.validation.structure import structure_issues


@functools.lru_cache(maxsize=4)
def shared_conformance(compiled_dir: Path | None = DEFAULT_COMPILED_DIR) -> Conformance:
    return load_conformance(compiled_dir)


@functools.lru_cache(maxsize=4)
def _pipeline(compiled_dir: Path | None, selection: ProfileSelection) -> ValidationPipeline:
    conformance = shared_conformance(compiled_dir)
    return ValidationPipeline(
        [
            structure_issues,
            ProfileValidator(conformance, ProfileChecker(conformance), selection),
            IdentifierValidator(),
            QuestionnaireResponseValidator(conformance),
        ]
    )


def build_validator(
    settings: Settings | None = None,
    *,
    compiled_dir: Path | None = DEFAULT_COMPILED_DIR,
    selection: ProfileSelection | None = None,
) -> ValidationPipeline:
    """The validation pipeline for the app. ``settings`` is accepted for symmetry with the
    other factories; the validator needs none today."""
    del settings
    return _pipeline(compiled_dir, selection or DEFAULT_SELECTION)
