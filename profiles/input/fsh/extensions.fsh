// Extensions for what R4 has no element for.

Extension: KvPlannedActivity
Id: kv-planned-activity
Title: "Planerad aktivitet"
Description: "En aktivitet som personen förväntas delta i: typ, omfattning i timmar per vecka, startdatum, fysiska och psykiska krav samt fritext."
* insert KvConformanceMetadata
* ^context[0].type = #element
* ^context[0].expression = "ServiceRequest"
* extension contains
    type 1..1 MS and
    hoursPerWeek 0..1 MS and
    startDate 0..1 MS and
    physicalDemands 0..1 MS and
    mentalDemands 0..1 MS and
    text 0..1 MS
* extension[type] ^short = "Typ av aktivitet"
* extension[type] ^definition = "Vilken sorts aktivitet det gäller."
* extension[type].value[x] only CodeableConcept
* extension[type].value[x] from KvPlannedActivityTypeVS (required)
* extension[hoursPerWeek] ^short = "Timmar per vecka"
* extension[hoursPerWeek] ^definition = "Planerad omfattning i timmar per vecka."
* extension[hoursPerWeek].value[x] only decimal
* extension[hoursPerWeek].valueDecimal ^minValueDecimal = 0
* extension[hoursPerWeek].valueDecimal ^maxValueDecimal = 168
* extension[startDate] ^short = "Startdatum"
* extension[startDate] ^definition = "Planerat startdatum för aktiviteten."
* extension[startDate].value[x] only date
* extension[physicalDemands] ^short = "Fysiska krav"
* extension[physicalDemands] ^definition = "Vad aktiviteten kräver fysiskt, till exempel tunga lyft eller långvarigt stående."
* extension[physicalDemands].value[x] only string
* extension[mentalDemands] ^short = "Psykiska krav"
* extension[mentalDemands] ^definition = "Vad aktiviteten kräver psykiskt, till exempel samarbete, tempo eller koncentration."
* extension[mentalDemands].value[x] only string
* extension[text] ^short = "Beskrivning"
* extension[text] ^definition = "Fri beskrivning av aktiviteten."
* extension[text].value[x] only string

Extension: KvMixNeedGroup
Id: kv-mix-need-group
Title: "Behovsgrupp enligt MIX"
Description: "Personens behovsgrupp enligt MIX-modellen (AM1–AM3, RH1–RH3)."
* insert KvConformanceMetadata
* ^context[0].type = #element
* ^context[0].expression = "ServiceRequest"
* value[x] only CodeableConcept
* value[x] 1..1
* value[x] from KvMixNeedGroupVS (required)

Extension: KvAvstamningsmoteRequested
Id: kv-avstamningsmote-requested
Title: "Önskemål om avstämningsmöte"
Description: "Socialtjänsten önskar ett avstämningsmöte med kommun, vård och personen."
* insert KvConformanceMetadata
* ^context[0].type = #element
* ^context[0].expression = "ServiceRequest"
* value[x] only boolean
* value[x] 1..1

Extension: KvOtherContact
Id: kv-other-contact
Title: "Annan kontakt"
Description: "En annan aktör som personen har kontakt med (till exempel Arbetsförmedlingen, Försäkringskassan, AMA, psykiatrin eller boendestöd)."
* insert KvConformanceMetadata
* ^context[0].type = #element
* ^context[0].expression = "ServiceRequest"
* extension contains
    type 1..1 MS and
    name 0..1 and
    text 0..1
* extension[type] ^short = "Typ av kontakt"
* extension[type].value[x] only CodeableConcept
* extension[type].value[x] from KvOtherContactTypeVS (required)
* extension[name] ^short = "Namn på kontakten"
* extension[name] ^definition = "Till exempel enhetens eller handläggarens namn."
* extension[name].value[x] only string
* extension[text] ^short = "Beskrivning"
* extension[text] ^definition = "Vad kontakten gäller."
* extension[text].value[x] only string

Extension: KvBackground
Id: kv-background
Title: "Bakgrund och nuvarande situation"
Description: "Socialtjänstens beskrivning av personens bakgrund och nuvarande situation."
* insert KvConformanceMetadata
* ^context[0].type = #element
* ^context[0].expression = "ServiceRequest"
* value[x] only string
* value[x] 1..1

Extension: KvDesiredAnswerDate
Id: kv-desired-answer-date
Title: "Önskat svarsdatum"
Description: "Det datum då socialtjänsten önskar svar. ServiceRequest.occurrence[x] anger när en tjänst utförs och passar inte. På uppgiften (Task) motsvaras det av restriction.period.end."
* insert KvConformanceMetadata
* ^context[0].type = #element
* ^context[0].expression = "ServiceRequest"
* value[x] only date
* value[x] 1..1

Extension: KvRequestPurpose
Id: kv-request-purpose
Title: "Syfte med förfrågan"
Description: "Vad socialtjänsten vill veta och varför (syfte), i fritext."
* insert KvConformanceMetadata
* ^context[0].type = #element
* ^context[0].expression = "ServiceRequest"
* value[x] only string
* value[x] 1..1

Extension: KvConsentMethod
Id: kv-consent-method
Title: "Form för samtycke"
Description: "Om samtycket är skriftligt eller muntligt."
* insert KvConformanceMetadata
* ^context[0].type = #element
* ^context[0].expression = "Consent"
* value[x] only CodeableConcept
* value[x] 1..1
* value[x] from KvConsentMethodVS (required)

Extension: KvConsentRecordedBy
Id: kv-consent-recorded-by
Title: "Samtycket dokumenterat av"
Description: "Vem som tog emot och dokumenterade ett muntligt samtycke."
* insert KvConformanceMetadata
* ^context[0].type = #element
* ^context[0].expression = "Consent.verification"
* value[x] only Reference(KvSocialsekreterare)
* value[x] 1..1

Extension: KvRecordedBy
Id: kv-recorded-by
Title: "Registrerad av"
Description: "Den part (kommunen eller vårdenheten) som skrev en anteckning på uppgiften eller angav anledningen till dess status. Tjänsten sätter tillägget när anteckningen eller anledningen tas emot och ersätter det en part själv skickar. En anledning utan tillägget är tjänstens egen. När samtycket inte längre gäller visas vårdenhetens anteckningar, arbetsstatus och anledning inte för kommunen."
* insert KvConformanceMetadata
* ^context[0].type = #element
* ^context[0].expression = "Task.note"
* ^context[1].type = #element
* ^context[1].expression = "Task.statusReason"
* value[x] only Reference(Organization)
* value[x] 1..1
