"""Listing resolution (person -> listed unit) and route resolution (unit -> Endpoint).

:class:`ListingResolver` asks the sources configured for the person's folkbokföring region
(the länskod of the kommun that asks) and reduces their answers to one explicit outcome:

========================  ===================================================================
``listed``                exactly one unit holds a current primary-care listing
``not-listed``            every source answered and none has a current listing
``ambiguous``             two or more units hold a current primary-care listing
``unavailable``           no listing found and at least one source could not answer
========================  ===================================================================

Protected identity (skyddad folkbokföring, sekretessmarkering) is a flag on the answer,
never a different route. Answers are cached for ``listing_cache_seconds`` under the keyed
hash of the person (never the number itself); ``resolve(..., use_cache=False)`` asks the
sources again, as dispatch does.

:class:`RouteResolver` adds the directory: the listed unit must be in the directory
(else ``unit-not-in-directory``), and its way in is found through the routing table and
the ``partOf`` chain (:func:`gateway.routing.directory.way_in`).
"""

from __future__ import annotations

import datetime
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gateway.routing import directory, events
from gateway.routing.listing_sources import Listing, ListingSource, SourceUnavailable
from gateway.routing.person import ListingHasher, PersonId
from gateway.routing.reference_data import kommun, region
from gateway.settings import Settings
from gateway.store.resources import ResourceStore, StoredResource
from gateway.store.visibility import EVERYTHING, Visibility

STEP_SYSTEM = "https://kv-gateway.se/fhir/CodeSystem/routing-step"


class ListingOutcome(StrEnum):
    LISTED = "listed"
    NOT_LISTED = "not-listed"
    AMBIGUOUS = "ambiguous"
    UNAVAILABLE = "unavailable"


class RouteOutcome(StrEnum):
    ROUTED = "routed"
    NOT_LISTED = "not-listed"
    AMBIGUOUS = "ambiguous-listing"
    UNAVAILABLE = "source-unavailable"
    UNIT_NOT_IN_DIRECTORY = "unit-not-in-directory"
    NO_ROUTE = "no-route"
    AMBIGUOUS_ROUTE = "ambiguous-route"
    NOT_AUTHORISED = "not-authorised"


@dataclass(frozen=True)
class Step:
    """One reasoning step: a machine code and a Swedish sentence. Never person data."""

    code: str
    text_sv: str


@dataclass(frozen=True)
class ListingResolution:
    outcome: ListingOutcome
    listing: Listing | None = None
    protected_identity: bool = False
    steps: tuple[Step, ...] = ()
    sources: tuple[str, ...] = ()
    unavailable: tuple[str, ...] = ()  # reason codes of the sources that failed
    cached: bool = False


class UnknownKommunError(ValueError):
    pass


def home_lanskod(kommunkod: str) -> str:
    found = kommun(kommunkod)
    if found is None:
        raise UnknownKommunError("unknown kommunkod")
    return found.lanskod


# Who asked, the person's keyed hash, the länskod.
_Key = tuple[str, bytes, str]


class _Cache:
    def __init__(self, ttl: float, max_entries: int = 20_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._data: OrderedDict[_Key, tuple[float, ListingResolution]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _Key) -> ListingResolution | None:
        if self.ttl <= 0:
            return None
        with self._lock:
            hit = self._data.get(key)
            if hit is None:
                return None
            expires, value = hit
            if expires < time.monotonic():
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return value

    def put(self, key: _Key, value: ListingResolution) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._data[key] = (time.monotonic() + self.ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


SourceFactory = Callable[[str], ListingSource]


class ListingResolver:
    def __init__(
        self,
        sources: dict[str, ListingSource],
        plan: dict[str, list[str]],
        hasher: ListingHasher,
        *,
        listing_types: Sequence[str] = ("PV",),
        cache_seconds: float = 60.0,
        today: Callable[[], datetime.date] = datetime.date.today,
    ) -> None:
        unknown = {name for names in plan.values() for name in names} - set(sources)
        if unknown:
            raise ValueError(f"listing sources not configured: {', '.join(sorted(unknown))}")
        self.sources = sources
        self.plan = plan
        self.hasher = hasher
        self.listing_types = frozenset(t.upper() for t in listing_types)
        self.cache = _Cache(cache_seconds)
        self.today = today

    def sources_for(self, lanskod: str) -> list[str]:
        return list(self.plan.get(lanskod) or self.plan.get("*") or [])

    def resolve(
        self, person: PersonId, kommunkod: str, *, use_cache: bool = True, asked_by: str = ""
    ) -> ListingResolution:
        """The person's listing in the home region of ``kommunkod``. A recent answer is
        reused only for the party that asked for it (``asked_by``): another party's hit
        would tell that someone looked the person up a moment ago."""
        lanskod = home_lanskod(kommunkod)
        key = (asked_by, self.hasher.key_for(person), lanskod)
        if use_cache:
            hit = self.cache.get(key)
            if hit is not None:
                return replace(hit, cached=True)
        resolution = self._ask(person, lanskod)
        if resolution.outcome is not ListingOutcome.UNAVAILABLE:
            self.cache.put(key, resolution)
        return resolution

    def _ask(self, person: PersonId, lanskod: str) -> ListingResolution:
        names = self.sources_for(lanskod)
        info = region(lanskod)
        steps = [
            Step(
                "home-region",
                f"Personens folkbokföringsregion bedöms utifrån kommunen: "
                f"{info.name if info else lanskod} (länskod {lanskod}).",
            )
        ]
        if not names:
            steps.append(Step("no-sources", "Ingen listningskälla är konfigurerad för regionen."))
            return ListingResolution(
                ListingOutcome.UNAVAILABLE, steps=tuple(steps), unavailable=("no-sources",)
            )
        listings: list[Listing] = []
        protected = False
        failures: list[SourceUnavailable] = []
        for name in names:
            try:
                answer = self.sources[name].lookup(person, lanskod)
            except SourceUnavailable as error:
                failures.append(error)
                steps.append(
                    Step(
                        f"source-unavailable:{name}",
                        f"Listningskällan {name} kunde inte svara just nu ({error.reason}).",
                    )
                )
                continue
            listings.extend(answer.listings)
            protected = protected or answer.protected_identity
            steps.append(Step(f"source-answered:{name}", f"Listningskällan {name} svarade."))
            for note in answer.notes:
                steps.append(Step(f"note:{note}", f"Källan {name} lämnade ett informationsbesked."))
        today = self.today()
        current = [
            item
            for item in listings
            if item.listing_type.upper() in self.listing_types and item.is_current(today)
        ]
        units: dict[str, Listing] = {}
        for item in current:
            units.setdefault(item.hsa_id, item)
        common = {
            "protected_identity": protected,
            "sources": tuple(names),
            "unavailable": tuple(f.reason for f in failures),
        }
        if protected:
            steps.append(
                Step(
                    "protected-identity",
                    "Personen har skyddade personuppgifter. Ärendet dirigeras som vanligt "
                    "men märks, och adress- och kontaktuppgifter lämnas inte vidare.",
                )
            )
        if len(units) > 1:
            steps.append(
                Step(
                    "ambiguous",
                    "Personen har mer än en gällande listning i primärvården. Ärendet kan "
                    "inte dirigeras förrän listningen är utredd.",
                )
            )
            return ListingResolution(ListingOutcome.AMBIGUOUS, steps=tuple(steps), **common)  # type: ignore[arg-type]
        if len(units) == 1:
            chosen = next(iter(units.values()))
            steps.append(
                Step(
                    "listed",
                    "Personen har en gällande listning i primärvården hos vårdenheten "
                    f"{chosen.hsa_id} (källa: {chosen.source}).",
                )
            )
            return ListingResolution(
                ListingOutcome.LISTED,
                listing=chosen,
                steps=tuple(steps),
                **common,  # type: ignore[arg-type]
            )
        if failures:
            steps.append(
                Step(
                    "unavailable",
                    "Listningen kunde inte fastställas eftersom en källa inte svarade. "
                    "Försök igen senare.",
                )
            )
            return ListingResolution(ListingOutcome.UNAVAILABLE, steps=tuple(steps), **common)  # type: ignore[arg-type]
        steps.append(
            Step("not-listed", "Personen har ingen gällande listning i primärvården i någon källa.")
        )
        return ListingResolution(ListingOutcome.NOT_LISTED, steps=tuple(steps), **common)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RouteDecision:
    outcome: RouteOutcome
    listing: ListingResolution
    steps: tuple[Step, ...]
    unit: StoredResource | None = None
    hsa_id: str | None = None
    way: directory.Way | None = None
    protected_identity: bool = False
    notes: list[str] = field(default_factory=list)


class RouteResolver:
    def __init__(self, listing: ListingResolver, settings: Settings) -> None:
        self.listing = listing
        self.settings = settings

    def resolve(
        self,
        session: Session,
        person: PersonId,
        kommunkod: str,
        *,
        service_contract: str | None = None,
        use_cache: bool = True,
        asked_by: str = "",
        records: Visibility = EVERYTHING,
    ) -> RouteDecision:
        """Where a request for ``person`` from ``kommunkod`` goes, and why. ``asked_by``: the
        party that asks (see :meth:`ListingResolver.resolve`). ``records``: which of the
        gateway's Patients may add their protected-identity label to the answer: all of
        them when a request is routed (the label protects the person), only the asker's
        own when it merely asks (another party's label is not its to learn)."""
        service = service_contract or self.settings.routing_service_contract
        store = ResourceStore(session)
        from gateway.routing.listing_sources.local import using_connection

        with using_connection(session.connection()):
            resolution = self.listing.resolve(
                person, kommunkod, use_cache=use_cache, asked_by=asked_by
            )
        steps = list(resolution.steps)
        if resolution.cached:
            steps.insert(
                0, Step("cached", "Svaret om listning återanvändes från en nyss gjord kontroll.")
            )
        # The gateway's own records may know of protected identity too.
        protected = resolution.protected_identity or any(
            _is_protected(p) for p in directory.patients_of(store, person, records)
        )
        if protected and not resolution.protected_identity:
            steps.append(
                Step(
                    "protected-identity",
                    "Personen har skyddade personuppgifter. Ärendet dirigeras som vanligt "
                    "men märks, och adress- och kontaktuppgifter lämnas inte vidare.",
                )
            )
        mapping = {
            ListingOutcome.NOT_LISTED: RouteOutcome.NOT_LISTED,
            ListingOutcome.AMBIGUOUS: RouteOutcome.AMBIGUOUS,
            ListingOutcome.UNAVAILABLE: RouteOutcome.UNAVAILABLE,
        }
        if resolution.outcome in mapping:
            return self._decided(mapping[resolution.outcome], resolution, steps, protected)
        assert resolution.listing is not None
        hsa_id = resolution.listing.hsa_id
        try:
            unit = directory.unit_by_hsa_id(store, hsa_id)
        except directory.DirectoryError:
            unit = None
        if unit is None or unit.body is None:
            steps.append(
                Step(
                    "unit-not-in-directory",
                    f"Vårdenheten {hsa_id} finns inte i katalogen. Katalogen behöver "
                    "kompletteras innan ärendet kan skickas.",
                )
            )
            return self._decided(
                RouteOutcome.UNIT_NOT_IN_DIRECTORY, resolution, steps, protected, hsa_id=hsa_id
            )
        steps.append(
            Step("unit-found", f"Vårdenheten finns i katalogen: {unit.body.get('name', unit.id)}.")
        )
        try:
            way = directory.way_in(store, unit, service)
        except directory.DirectoryError as error:
            outcome = (
                RouteOutcome.AMBIGUOUS_ROUTE
                if error.code in ("ambiguous-route", "ambiguous-endpoint", "ambiguous-unit")
                else RouteOutcome.NO_ROUTE
            )
            steps.append(
                Step(
                    error.code,
                    "Det finns ingen entydig väg till vårdenheten i katalogen eller "
                    "vägvalstabellen. Kontakta förvaltningen.",
                )
            )
            return self._decided(outcome, resolution, steps, protected, unit=unit, hsa_id=hsa_id)
        if way.via.id != unit.id:
            via_name = (way.via.body or {}).get("name", way.via.id)
            steps.append(
                Step(
                    "via-parent",
                    f"Enheten saknar egen adress och nås via överordnad enhet: {via_name}.",
                )
            )
        if way.from_routing_table:
            steps.append(Step("routing-table", "Adressen kommer från vägvalstabellen."))
            if not directory.may_use(session, self.settings.routing_consumer_id, service, way):
                steps.append(
                    Step(
                        "not-authorised",
                        "Tjänsten saknar anropsbehörighet till vårdenheten för det här "
                        "tjänstekontraktet.",
                    )
                )
                return self._decided(
                    RouteOutcome.NOT_AUTHORISED,
                    resolution,
                    steps,
                    protected,
                    unit=unit,
                    hsa_id=hsa_id,
                )
        steps.append(
            Step(
                f"endpoint:{way.connection_type}",
                f"Ärendet skickas via anslutningstypen {way.connection_type}.",
            )
        )
        return self._decided(
            RouteOutcome.ROUTED, resolution, steps, protected, unit=unit, hsa_id=hsa_id, way=way
        )

    def _decided(
        self,
        outcome: RouteOutcome,
        resolution: ListingResolution,
        steps: list[Step],
        protected: bool,
        *,
        unit: StoredResource | None = None,
        hsa_id: str | None = None,
        way: directory.Way | None = None,
    ) -> RouteDecision:
        events.record(
            "routing.resolve",
            outcome=outcome.value,
            hsa_id=hsa_id,
            organization=unit.reference if unit else None,
            endpoint=way.endpoint.reference if way else None,
            sources=list(resolution.sources),
            cached=resolution.cached,
            protected_identity=protected,
        )
        return RouteDecision(
            outcome, resolution, tuple(steps), unit, hsa_id, way, protected_identity=protected
        )


def _is_protected(patient: StoredResource) -> bool:
    from gateway.routing.listing_sources import PROTECTED_IDENTITY_CODES

    labels = ((patient.body or {}).get("meta") or {}).get("security") or []
    return any(label.get("code") in PROTECTED_IDENTITY_CODES for label in labels)


# ----- wiring from settings ---------------------------------------------------------------


def build_listing_resolver(settings: Settings, engine: Engine) -> ListingResolver:
    """The resolver the settings describe. Only the sources the plan names are built."""
    from gateway.logging import get_logger
    from gateway.routing.listing_sources.local import LocalRegisterSource

    hasher = ListingHasher(settings.listing_hash_key.get_secret_value().encode())
    if settings.listing_hash_key_is_default():
        get_logger(__name__).warning(
            "development_listing_hash_key",
            message="the listing register uses the public development key "
            "(KVGW_LISTING_HASH_KEY); never use it with real data",
        )
    wanted = {name for names in settings.listing_sources.values() for name in names}
    sources: dict[str, ListingSource] = {}
    if "local" in wanted:
        sources["local"] = LocalRegisterSource(engine, hasher)
    if "rivta" in wanted:
        from gateway.rivta.soap import SoapClient, TlsConfig
        from gateway.routing.listing_sources.rivta_carelisting import RivtaCarelistingSource

        if not settings.rivta_get_listing_county_url or not settings.rivta_get_listing_url:
            raise ValueError(
                "listing source 'rivta' needs KVGW_RIVTA_GET_LISTING_COUNTY_URL and "
                "KVGW_RIVTA_GET_LISTING_URL"
            )
        client = SoapClient(
            timeout=settings.listing_timeout_seconds,
            max_response_bytes=settings.listing_max_response_bytes,
            tls=TlsConfig(
                settings.rivta_client_cert, settings.rivta_client_key, settings.rivta_ca_bundle
            ),
        )
        sources["rivta"] = RivtaCarelistingSource(
            client,
            county_url=settings.rivta_get_listing_county_url,
            listing_url=settings.rivta_get_listing_url,
            actor_id=settings.rivta_actor_id,
            actor_type=settings.rivta_actor_type,
        )
    if "fhir" in wanted:
        from gateway.routing.listing_sources.fhir import FhirListingSource

        if not settings.listing_fhir_servers:
            raise ValueError("listing source 'fhir' needs KVGW_LISTING_FHIR_SERVERS")
        token = settings.listing_fhir_token
        sources["fhir"] = FhirListingSource(
            settings.listing_fhir_servers,
            search=settings.listing_fhir_search,
            timeout=settings.listing_timeout_seconds,
            max_response_bytes=settings.listing_max_response_bytes,
            token=token.get_secret_value() if token else None,
        )
    return ListingResolver(
        sources,
        settings.listing_sources,
        hasher,
        listing_types=settings.listing_types,
        cache_seconds=settings.listing_cache_seconds,
    )
