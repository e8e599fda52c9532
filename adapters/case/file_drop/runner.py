"""One round of the file-drop adapter, and the loop that repeats it.

Folders under the configured root (mappings/README.md, *The folder protocol*):

- ``inbox/``: the case system drops one file per case. A name starting with ``.`` is
  ignored (a file still being written).
- ``processing/``: a new file is claimed by an atomic rename to a neutral name
  (``<UTC time>-<random>.<ext>``; the vendor's name may hold personal data). A file that
  meets a passing failure (gateway unreachable, 5xx, 429) stays here and is retried next
  round, before new files.
- ``done/``: submitted (the gateway created the Task, or already had it).
- ``refused/``: the gateway refused it, or it cannot be read by the mapping; beside it
  ``<name>.outcome.txt`` says why in Swedish (the OperationOutcome's ``details.text``
  and ``expression``).
- ``outbox/``: what goes back, in the mapping's output form, one file per event and named
  by Task id: ``receipt-<task>.<ext>``, ``status-<task>-<version>.<ext>``,
  ``answer-<task>.<ext>``. Each is written to a hidden temporary file and renamed, 0600.
"""

from __future__ import annotations

import fcntl
import os
import re
import stat
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.case.file_drop.client import PAGE_SIZE, GatewayClient, PassingError, Refused
from adapters.case.file_drop.config import AdapterConfig
from adapters.case.file_drop.mapping import Mapping
from adapters.case.file_drop.state import AdapterState
from adapters.case.file_drop.submission import build_submission, idempotency_key
from adapters.case.file_drop.vendor_records import RecordError, read_file
from adapters.case.file_drop.writeback import (
    answer_record,
    render,
    status_record,
    write_atomically,
)
from gateway.logging import get_logger

log = get_logger(__name__)

FOLDERS = ("inbox", "processing", "done", "refused", "outbox")
MAX_PAGES_PER_ROUND = 20
SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")
SAFE_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


class RootBusyError(Exception):
    """Another adapter process works in the same root folder."""


@dataclass
class RoundReport:
    submitted: int = 0
    already_submitted: int = 0
    refused: int = 0
    left_for_retry: int = 0
    status_files: int = 0
    answer_files: int = 0
    poll_failed: bool = False


class FileDropRunner:
    def __init__(self, config: AdapterConfig, client: GatewayClient) -> None:
        self.config = config
        self.mapping: Mapping = config.mapping
        self.client = client
        self.root = config.root
        self.folder = {name: self.root / name for name in FOLDERS}
        self.extension = "json" if self.mapping.output.kind == "json" else "xml"
        self._lock: int | None = None  # the root's lock, once held (hold_root)

    def prepare(self) -> None:
        for path in (self.root, *self.folder.values()):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)

    def hold_root(self) -> None:
        """Take the root folder for this process until it ends (an advisory lock on
        ``.lock``): two adapters on one folder would race for the same files. Also reads
        the state once, so that one an operator must mend stops the start, not a round."""
        self.prepare()
        descriptor = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise RootBusyError(f"another adapter works in {self.root}") from None
        self._lock = descriptor
        AdapterState.load(self.root)

    def run_once(self) -> RoundReport:
        self.prepare()
        report = RoundReport()
        state = AdapterState.load(self.root)
        self._claim_new()
        waiting = sorted(p for p in self.folder["processing"].iterdir() if _visible(p))
        for index, path in enumerate(waiting):
            try:
                self._process(path, state, report)
            except PassingError as error:
                report.left_for_retry = len(waiting) - index
                log.warning("case_drop_submit_deferred", file=path.name, reason=error.detail)
                break
        try:
            self._poll(state, report)
        except PassingError as error:
            report.poll_failed = True
            log.warning("case_drop_poll_deferred", reason=error.detail)
        log.info("case_drop_round", **vars(report))
        return report

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception as error:  # a folder gone or full, a state
                # file an operator must mend: say so each round, and keep running
                log.error("case_drop_round_failed", error=type(error).__name__)
            stop.wait(self.config.interval_seconds)

    # --- submissions -------------------------------------------------------------------

    def _claim_new(self) -> None:
        for path in sorted(self.folder["inbox"].iterdir()):
            # Anything but a folder is claimed: a link, a pipe or a device is then refused
            # with a reason (vendor_records.read_file), not left in inbox/ unsaid.
            if not _visible(path) or stat.S_ISDIR(path.lstat().st_mode):
                continue
            suffix = path.suffix if SUFFIX.match(path.suffix) else ""
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            claimed = self.folder["processing"] / f"{stamp}-{uuid.uuid4().hex[:8]}{suffix}"
            try:
                os.rename(path, claimed)
            except FileNotFoundError:
                continue  # taken meanwhile
            log.info("case_drop_claimed", file=claimed.name)

    def _process(self, path: Path, state: AdapterState, report: RoundReport) -> None:
        try:
            case = read_file(path, self.mapping)
            bundle = build_submission(case, self.mapping)
        except RecordError as error:
            self._refuse(path, _local_explanation(self.mapping, error))
            report.refused += 1
            return
        except OSError:
            raise  # the folder's trouble, not the file's: the round stops and says so
        except Exception as error:  # whatever else a hostile file raises
            # (a number of 5 000 digits, nesting deeper than the stack, an unknown
            # encoding): that file is refused, and the files after it still go.
            log.warning("case_drop_unreadable", file=path.name, error_type=type(error).__name__)
            unreadable = RecordError("Filen kunde inte läsas enligt mappningen.")
            self._refuse(path, _local_explanation(self.mapping, unreadable))
            report.refused += 1
            return
        result = self.client.submit(bundle, idempotency_key(self.mapping, case["case_id"]))
        if isinstance(result, Refused):
            self._refuse(path, _gateway_explanation(result, case["case_id"]))
            report.refused += 1
            return
        task = result.task
        task_id = str(task.get("id", ""))
        if not SAFE_ID.match(task_id):
            raise PassingError("the gateway answered a Task without a usable id")
        receipt = status_record(task, case["case_id"])
        receipt["kind"] = "receipt"
        write_atomically(
            self.folder["outbox"],
            f"receipt-{task_id}.{self.extension}",
            render(receipt, self.mapping.output),
        )
        state.cases[task_id] = case["case_id"]
        state.written.setdefault(task_id, _seen_as(task))
        state.save(self.root)
        os.replace(path, self.folder["done"] / path.name)
        if result.created:
            report.submitted += 1
        else:
            report.already_submitted += 1
        log.info("case_drop_submitted", file=path.name, task_id=task_id, created=result.created)

    def _refuse(self, path: Path, explanation: str) -> None:
        target = self.folder["refused"] / path.name
        write_atomically(
            self.folder["refused"], f"{path.name}.outcome.txt", explanation.encode("utf-8")
        )
        os.replace(path, target)
        log.info("case_drop_refused", file=path.name)

    # --- status changes and answers ----------------------------------------------------

    def _poll(self, state: AdapterState, report: RoundReport) -> None:
        for _ in range(MAX_PAGES_PER_ROUND):
            tasks = list(self.client.tasks_changed_since(state.mark))
            fresh = [t for t in tasks if not state.seen(*_version_of(t))]
            for task in fresh:
                self._write_change(task, state, report)
                state.advance(*_version_of(task))
                state.save(self.root)
            if not fresh or len(tasks) < PAGE_SIZE:
                return

    def _write_change(self, task: dict[str, Any], state: AdapterState, report: RoundReport) -> None:
        task_id = str(task.get("id", ""))
        if not SAFE_ID.match(task_id):
            return
        case_id = self._case_of(task, state)
        if case_id is None:
            return
        seen_as = _seen_as(task)
        if state.written.get(task_id) == seen_as:
            return
        output = self.mapping.output
        answer = self._answer_of(task) if task.get("status") == "completed" else None
        if answer is not None:
            record = answer_record(task, case_id, answer)
            write_atomically(
                self.folder["outbox"], f"answer-{task_id}.{self.extension}", render(record, output)
            )
            report.answer_files += 1
        else:
            version = str((task.get("meta") or {}).get("versionId", "0"))
            version = version if SAFE_ID.match(version) else "0"
            write_atomically(
                self.folder["outbox"],
                f"status-{task_id}-{version}.{self.extension}",
                render(status_record(task, case_id), output),
            )
            report.status_files += 1
        state.written[task_id] = seen_as

    def _case_of(self, task: dict[str, Any], state: AdapterState) -> str | None:
        task_id = str(task["id"])
        if task_id in state.cases:
            return state.cases[task_id]
        if task_id in state.foreign:
            return None
        focus = str((task.get("focus") or {}).get("reference", ""))
        request = self.client.read(focus) if focus.startswith("ServiceRequest/") else None
        for identifier in (request or {}).get("identifier") or []:
            if identifier.get("system") == self.mapping.kommun.case_system and identifier.get(
                "value"
            ):
                state.cases[task_id] = str(identifier["value"])
                return state.cases[task_id]
        state.foreign.append(task_id)
        return None

    def _answer_of(self, task: dict[str, Any]) -> dict[str, Any] | None:
        for output in task.get("output") or []:
            reference = str((output.get("valueReference") or {}).get("reference", ""))
            if reference.startswith("QuestionnaireResponse/"):
                answer = self.client.read(reference)
                if answer is None:
                    log.warning("case_drop_answer_withheld", task_id=task.get("id"))
                return answer
        return None


def _shown(case_id: str) -> str:
    """The case id as the explanation may show it: one printable line, or not at all."""
    return case_id if case_id.isprintable() and len(case_id) <= 64 else "(ogiltigt id)"


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def _seen_as(task: dict[str, Any]) -> str:
    """What the case system sees of a Task version: its status and work status."""
    business = (task.get("businessStatus") or {}).get("coding") or [{}]
    return f"{task.get('status')}|{business[0].get('code', '')}"


def _version_of(task: dict[str, Any]) -> tuple[str, str]:
    meta = task.get("meta") or {}
    return str(meta.get("lastUpdated", "")), f"{task.get('id')}/{meta.get('versionId', '')}"


def _local_explanation(mapping: Mapping, error: RecordError) -> str:
    lines = [
        "Filen skickades inte till gatewayen: den kunde inte läsas enligt mappningen "
        f"'{mapping.format.name}'.",
        "",
        f"- {error.text_sv}",
    ]
    if error.where:
        lines.append(f"  Plats i filen: {error.where}")
    return "\n".join(lines) + "\n"


def _gateway_explanation(refused: Refused, case_id: str) -> str:
    lines = [
        f"Gatewayen avvisade förfrågan för ärende {_shown(case_id)} (HTTP {refused.status}).",
        "",
    ]
    issues = refused.outcome.get("issue") or []
    for issue in issues:
        text = (issue.get("details") or {}).get("text") or issue.get("diagnostics") or ""
        lines.append(f"- {text or 'Ingen förklaring angavs.'}")
        for expression in issue.get("expression") or []:
            lines.append(f"  Plats: {expression}")
    if not issues:
        lines.append("- Gatewayen angav ingen förklaring.")
    return "\n".join(lines) + "\n"
