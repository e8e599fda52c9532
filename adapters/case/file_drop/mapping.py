"""A declarative mapping file (TOML) that describes one vendor's file format.

The mapping says what kind of file the case system drops (``json``, ``csv`` or ``xml``),
where each field the request needs is found (a dotted path, a column, an XPath), how a
vendor's value becomes ours (date formats, code maps, characters to drop, a default) and
how status changes and answers are written back (``json`` or ``xml``, the vendor's field
names). :func:`load_mapping` refuses a bad file with one line that names the key
(:class:`MappingError`). mappings/README.md documents every key.
"""

from __future__ import annotations

import re
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_MAX_BYTES = 1024 * 1024

REQUIRED_FIELDS = (
    "case_id",
    "personnummer",
    "consent_method",
    "consent_given",
    "consent_valid_to",
    "reason",
    "activity_type",
)
OPTIONAL_FIELDS = (
    "given_name",
    "family_name",
    "consent_form",
    "consent_valid_from",
    "officer_phone",
    "officer_email",
    "question",
    "purpose",
    "activity_hours",
    "activity_start",
    "activity_text",
    "desired_answer_date",
)
DATE_FIELDS = frozenset(
    {
        "consent_given",
        "consent_valid_from",
        "consent_valid_to",
        "desired_answer_date",
        "activity_start",
    }
)
# What the vendor's status and answer files can carry, by our name.
OUTPUT_FIELDS = (
    "kind",
    "case_id",
    "task_id",
    "status",
    "business_status",
    "reason",
    "updated",
    "answered",
)
TASK_STATUSES = (
    "requested",
    "received",
    "accepted",
    "rejected",
    "cancelled",
    "in-progress",
    "on-hold",
    "failed",
    "completed",
)
XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]*$")
PATH_PART = re.compile(r"^[^.\s]+$")


class MappingError(Exception):
    """A mapping file that cannot be used; the message is one line naming the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Conversion(_Strict):
    """How one field's vendor value becomes ours, applied in this order."""

    remove: str = Field(default="", description="Characters dropped from the value.")
    map: dict[str, str] | None = Field(
        default=None, description="Vendor value → our value; a value not listed is refused."
    )
    date_format: str | None = Field(
        default=None, description="strptime format of a vendor date; written as YYYY-MM-DD."
    )
    default: str | None = Field(default=None, description="Used when the field is absent.")

    @field_validator("date_format")
    @classmethod
    def _date_format_reads_a_date(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if "%" not in value:
            raise ValueError("is not a strptime format (no % directive)")
        sample = datetime(2026, 1, 31, 12, 0).strftime(value)
        try:
            datetime.strptime(sample, value)
        except ValueError:
            raise ValueError("cannot read back the dates it writes") from None
        return value


class Format(_Strict):
    name: str = Field(min_length=1)
    input: Literal["json", "csv", "xml"]
    encoding: str = "utf-8"
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0, le=16 * DEFAULT_MAX_BYTES)
    csv_delimiter: str = Field(default=",", min_length=1, max_length=1)
    xml_namespaces: dict[str, str] = Field(default_factory=dict)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            "".encode(value)
        except LookupError:
            raise ValueError("is not an encoding Python knows") from None
        return value


class Kommun(_Strict):
    organization: str = Field(pattern=r"^Organization/[A-Za-z0-9\-.]{1,64}$")
    case_system: str = Field(
        min_length=1, description="ServiceRequest.identifier.system of the kommun's case ids."
    )


class Output(_Strict):
    kind: Literal["json", "xml"]
    root: str = Field(default="kv", min_length=1)
    fields: dict[str, str]
    status_codes: dict[str, str] = Field(default_factory=dict)
    answers: dict[str, str] = Field(default_factory=dict)
    unmapped_answers: str | None = Field(
        default=None, description="Name under which answers with no vendor name are kept."
    )

    @field_validator("fields")
    @classmethod
    def _known_output_fields(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if name not in OUTPUT_FIELDS:
                raise ValueError(f"'{name}' is not one of {', '.join(OUTPUT_FIELDS)}")
        for needed in ("case_id", "task_id", "status"):
            if needed not in value:
                raise ValueError(f"'{needed}' is required")
        return value

    @field_validator("status_codes")
    @classmethod
    def _known_statuses(cls, value: dict[str, str]) -> dict[str, str]:
        for status in value:
            if status not in TASK_STATUSES:
                raise ValueError(f"'{status}' is not a Task status")
        return value

    @model_validator(mode="after")
    def _names_fit_the_kind(self) -> Output:
        names = [self.root, *self.fields.values(), *self.answers.values()]
        if self.unmapped_answers:
            names.append(self.unmapped_answers)
        for name in names:
            if not name or (self.kind == "xml" and not XML_NAME.match(name)):
                raise ValueError(f"'{name}' is not a valid {self.kind} field name")
        return self


class Mapping(_Strict):
    """One vendor format, as a mapping file describes it."""

    format: Format
    kommun: Kommun
    fields: dict[str, str]
    convert: dict[str, Conversion] = Field(default_factory=dict)
    output: Output

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        for name, where in value.items():
            if name not in REQUIRED_FIELDS + OPTIONAL_FIELDS:
                raise ValueError(f"'{name}' is not a field the adapter knows")
            if not where.strip():
                raise ValueError(f"'{name}' has an empty location")
        return value

    @model_validator(mode="after")
    def _complete_and_readable(self) -> Mapping:
        for name in REQUIRED_FIELDS:
            if name not in self.fields and not _has_default(self.convert.get(name)):
                raise ValueError(f"fields.{name} is required")
        for name in self.convert:
            if name not in REQUIRED_FIELDS + OPTIONAL_FIELDS:
                raise ValueError(f"convert.{name} is not a field the adapter knows")
        for name, where in self.fields.items():
            problem = _location_problem(self.format, where)
            if problem:
                raise ValueError(f"fields.{name}: {problem}")
        return self


def _has_default(conversion: Conversion | None) -> bool:
    return conversion is not None and conversion.default is not None


def _location_problem(fmt: Format, where: str) -> str | None:
    if fmt.input == "json":
        parts = where.split(".")
        if not all(PATH_PART.match(part) for part in parts):
            return "a JSON location is a dotted path such as klient.personnummer"
    elif fmt.input == "xml":
        try:
            # Run once on an empty element too: an unknown function or prefix shows only
            # when an XPath runs, and would otherwise be blamed on every file.
            etree.XPath(where, namespaces=fmt.xml_namespaces or None)(etree.Element("probe"))
        except etree.XPathSyntaxError:
            return "is not a valid XPath"
        except etree.XPathError:
            return "is an XPath that cannot run (an unknown function, prefix or variable)"
    return None


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def parse_mapping(data: dict[str, Any], source: str = "mapping") -> Mapping:
    """The validated mapping, or :class:`MappingError` naming the first bad key."""
    try:
        return Mapping.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        if not first["loc"]:  # a rule over several keys: the message starts with the key
            raise MappingError(f"{source}: key {message}") from None
        raise MappingError(f"{source}: key {_where(first['loc'])}: {message}") from None


def read_toml(path: Path, what: str, error: type[Exception]) -> dict[str, Any]:
    """A TOML file's table, or ``error`` with one line: the file and why it cannot be read
    (``what`` names it: "the mapping file")."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as failure:
        raise error(f"{path}: cannot read {what} ({failure.strerror})") from None
    except tomllib.TOMLDecodeError as failure:
        raise error(f"{path}: not valid TOML ({failure})") from None


def load_mapping(path: Path) -> Mapping:
    """Read and validate a mapping file; :class:`MappingError` is one line naming the key."""
    return parse_mapping(read_toml(path, "the mapping file", MappingError), str(path))
