"""Validation cost: a full request Bundle and a full QuestionnaireResponse.

Inputs are the compiled examples in profiles/compiled: the request transaction Bundle
(Patient, Organization, Practitioner, PractitionerRole, Consent, ServiceRequest) and the
completed QuestionnaireResponse to the national Questionnaire. For each input, in the
same run and process, on one core:

* **baseline**: plain fhir.resources parsing, ``get_fhir_model_class(type)
  .model_validate(resource)``, which is the structural part only;
* **validate**: the gateway's validator, ``build_validator().issues(resource,
  strict=True)`` (structure + core definition + our profiles, bindings, slices,
  invariants + Swedish identifiers + QuestionnaireResponse against the Questionnaire),
  i.e. what ``$validate`` does.

Each is run ``--warmup`` times, then timed ``--repeat`` times one call at a time with
``time.perf_counter_ns``; the median is reported with the ratio validate/baseline. The
process is pinned to one CPU where the OS allows it. Exit status 1 when the Bundle's
median is not under the target (5 ms).

    .venv/bin/python -m benchmarks.validation [--repeat N] [--warmup N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from gateway.errors import Severity
from gateway.validation.conformance import DEFAULT_COMPILED_DIR
from gateway.validation.factory import build_validator

TARGET_BUNDLE_MS = 5.0
INPUTS = {
    "request Bundle": "Bundle-example-request-bundle.json",
    "QuestionnaireResponse": "QuestionnaireResponse-example-questionnaireresponse.json",
}


def _pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def _median_ms(call: Callable[[], Any], warmup: int, repeat: int) -> float:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="validation benchmark")
    parser.add_argument("--repeat", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args(argv)
    pinned = _pin_one_core()
    started = time.perf_counter()
    validator = build_validator()
    load_s = time.perf_counter() - started
    print(f"python {platform.python_version()} on {platform.machine()}, {pinned}")
    print(f"validator start-up (load and index conformance artifacts): {load_s * 1000:.0f} ms")
    print(f"{'input':<24}{'baseline ms':>12}{'validate ms':>13}{'ratio':>8}")
    failed = False
    for label, name in INPUTS.items():
        resource = json.loads((DEFAULT_COMPILED_DIR / name).read_text(encoding="utf-8"))
        model = get_fhir_model_class(resource["resourceType"])
        issues = validator.issues(resource, strict=True)
        errors = [i for i in issues if i.severity in (Severity.ERROR, Severity.FATAL)]
        if errors:
            print(f"{label}: the example does not validate: {errors}", file=sys.stderr)
            return 1
        baseline = _median_ms(partial(model.model_validate, resource), args.warmup, args.repeat)
        full = _median_ms(
            partial(validator.issues, resource, strict=True), args.warmup, args.repeat
        )
        print(f"{label:<24}{baseline:>12.3f}{full:>13.3f}{full / baseline:>8.1f}")
        if label == "request Bundle" and full >= TARGET_BUNDLE_MS:
            failed = True
    print(
        f"target: request Bundle < {TARGET_BUNDLE_MS:g} ms median -> {'MISSED' if failed else 'met'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
