// INVALID examples: negative tests for the gateway's validator. Each one breaks exactly
// one rule, named in its Description. They are declared as instances of the base
// resource type (so that SUSHI does not refuse to compile them) and claim the kv-gateway
// profile through meta.profile. profiles/invalid-examples.json lists, for each one, the
// profile, the expected issue path and the reason. build.sh writes them to
// profiles/compiled/invalid/ and keeps them out of the installable package.

// ---------------------------------------------------------------- shared pieces
RuleSet: InvalidQrHeader
* meta.profile = Canonical(KvQuestionnaireResponse)
* questionnaire = "https://kv-gateway.se/fhir/Questionnaire/medicinskt-utlatande-aktivitetsformaga|1.0.0"
* basedOn = Reference(example-servicerequest)
* status = #completed
* subject = Reference(example-patient-tolvan)
* authored = "2025-11-20T15:45:00+01:00"
* author = Reference(example-rehabkoordinator)

RuleSet: QrUnderlag
* item[+].linkId = "kv.underlag"
* item[=].item[+].linkId = "kv.underlag.typ"
* item[=].item[=].answer.valueCoding = KvAnswerBasisCS#journalgranskning "Journalgranskning"
* item[=].item[+].linkId = "kv.underlag.datum"
* item[=].item[=].answer.valueDate = "2025-11-18"
* item[=].item[+].linkId = "kv.underlag.profession"
* item[=].item[=].answer.valueCoding = KvAnsweringProfessionCS#lakare "Läkare"

RuleSet: QrYesNo(group, question, answer)
* item[+].linkId = "{group}"
* item[=].item[+].linkId = "{question}"
* item[=].item[=].answer.valueBoolean = {answer}

RuleSet: QrYesWithText(group, question, textItem, text)
* item[+].linkId = "{group}"
* item[=].item[+].linkId = "{question}"
* item[=].item[=].answer.valueBoolean = true
* item[=].item[+].linkId = "{textItem}"
* item[=].item[=].answer.valueString = "{text}"

RuleSet: QrResurser
* item[+].linkId = "kv.resurser"
* item[=].item[+].linkId = "kv.resurser.fungerar"
* item[=].item[=].answer.valueString = "Klarar lättare uppgifter med pauser."

RuleSet: QrOmfattning(hours)
* item[+].linkId = "kv.omfattning"
* item[=].item[+].linkId = "kv.omfattning.kan-delta"
* item[=].item[=].answer.valueBoolean = true
* item[=].item[+].linkId = "kv.omfattning.timmar"
* item[=].item[=].answer.valueInteger = {hours}

RuleSet: QrTail
* item[+].linkId = "kv.prognos"
* item[=].item[+].linkId = "kv.prognos.bedomning"
* item[=].item[=].answer.valueString = "God."
* insert QrYesNo(kv.plan, kv.plan.finns, false)
* item[+].linkId = "kv.uppfoljning"
* item[=].item[+].linkId = "kv.uppfoljning.rekommendation"
* item[=].item[=].answer.valueCoding = KvFollowUpCS#ingen "Ingen uppföljning behövs"
* item[+].linkId = "kv.kontakt"
* item[=].item[+].linkId = "kv.kontakt.namn"
* item[=].item[=].answer.valueString = "Bertil Koordinator"
* item[=].item[+].linkId = "kv.kontakt.telefon"
* item[=].item[=].answer.valueString = "+4610242000"

// A complete, valid answer body (groups kv.underlag … kv.kontakt) for reuse.
RuleSet: QrValidBody
* insert QrUnderlag
* insert QrYesWithText(1, 1.1, 1.2, Nedsatt rörlighet i ländryggen.)
* insert QrYesNo(2, 2.1, false)
* insert QrYesNo(3, 3.1, false)
* insert QrYesNo(4, 4.1, false)
* insert QrResurser
* insert QrYesNo(kv.anpassning, kv.anpassning.behov, false)
* insert QrOmfattning(20)
* insert QrTail

RuleSet: InvalidServiceRequestBase
* meta.profile = Canonical(KvServiceRequest)
* extension[+].url = "https://kv-gateway.se/fhir/StructureDefinition/kv-planned-activity"
* extension[=].extension[+].url = "type"
* extension[=].extension[=].valueCodeableConcept = KvPlannedActivityTypeCS#praktik "Praktik"
* identifier.type = KvIdentifierTypeCS#kommun-arende "Kommunens ärende-id"
* identifier.system = "https://kommun.example/jonkoping/verksamhetssystem/arende"
* identifier.value = "EB-2025-4712"
* intent = #order
* category = KvRequestTypeCS#samverkan-socialtjanst-vard "Samverkan mellan socialtjänst och hälso- och sjukvård"
* code = KvRequestTypeCS#medicinskt-utlatande-aktivitetsformaga "Medicinskt utlåtande om aktivitetsförmåga"
* subject = Reference(example-patient-tolvan)
* authoredOn = "2025-11-05T09:30:00+01:00"
* requester = Reference(example-socialsekreterare)
* reasonCode = KvRequestReasonCS#ohalsa-uppgiven "Personen uppger att ohälsa hindrar deltagande"

RuleSet: InvalidTaskBase
* meta.profile = Canonical(KvTask)
* basedOn = Reference(example-servicerequest)
* intent = #order
* code = KvRequestTypeCS#medicinskt-utlatande-aktivitetsformaga "Medicinskt utlåtande om aktivitetsförmåga"
* focus = Reference(example-servicerequest)
* for = Reference(example-patient-tolvan)
* authoredOn = "2025-11-05T09:30:05+01:00"
* owner = Reference(example-vardcentral)
* input[+].type = KvTaskParameterTypeCS#questionnaire "Frågeformulär"
* input[=].valueCanonical = "https://kv-gateway.se/fhir/Questionnaire/medicinskt-utlatande-aktivitetsformaga|1.0.0"

RuleSet: InvalidConsentBase
* meta.profile = Canonical(KvConsent)
* status = #active
* scope = $consentscope#patient-privacy "Privacy Consent"
* category = $loinc#59284-0 "Patient Consent"
* patient = Reference(example-patient-tolvan)
* dateTime = "2025-11-03T10:15:00+01:00"
* performer = Reference(example-patient-tolvan)
* organization = Reference(example-kommun-jonkoping)
* policy.uri = "https://www.riksdagen.se/sv/dokument-och-lagar/dokument/svensk-forfattningssamling/offentlighets-och-sekretesslag-2009400_sfs-2009-400/#K12P2"
* provision.type = #permit
* provision.period.start = "2025-11-03"
* provision.actor.role = $v3-ParticipationType#IRCP "information recipient"
* provision.actor.reference = Reference(example-kommun-jonkoping)

// ---------------------------------------------------------------- Patient
Instance: invalid-patient-personnummer-luhn
InstanceOf: Patient
Title: "Ogiltig: personnummer med fel kontrollsiffra"
Description: "INVALID. Bryter mot: personnummer ska ha korrekt kontrollsiffra (Luhn). 19121212-1213 har kontrollsiffra 3 i stället för 2."
* meta.profile = Canonical(KvPatient)
* identifier.system = $personnummer
* identifier.value = "191212121213"
* name.family = "Tolvansson"

Instance: invalid-patient-personnummer-date
InstanceOf: Patient
Title: "Ogiltig: personnummer med omöjligt datum"
Description: "INVALID. Bryter mot: personnummer ska innehålla ett verkligt datum. 1913-02-30 finns inte (kontrollsiffran är korrekt)."
* meta.profile = Canonical(KvPatient)
* identifier.system = $personnummer
* identifier.value = "191302301237"
* name.family = "Testsson"

Instance: invalid-patient-no-swedish-id
InstanceOf: Patient
Title: "Ogiltig: person utan svensk identitet"
Description: "INVALID. Bryter mot kv-pat-1: personnummer, samordningsnummer eller nationellt reservnummer krävs."
* meta.profile = Canonical(KvPatient)
* identifier.system = "https://kommun.example/jonkoping/verksamhetssystem/klient"
* identifier.value = "K-123"
* name.family = "Okänd"

Instance: invalid-patient-protected-with-address
InstanceOf: Patient
Title: "Ogiltig: skyddad identitet med adress"
Description: "INVALID. Bryter mot kv-pat-2: en person med skyddad folkbokföring får inte ha adress eller kontaktuppgifter."
* meta.profile = Canonical(KvPatient)
* meta.security = $seSecurityLabel#skyddadFolkbokforing "Skyddad folkbokföring"
* identifier.system = $personnummer
* identifier.value = "198801012389"
* address.line = "Hemliga gatan 1"
* address.city = "Jönköping"

// ---------------------------------------------------------------- Organization
Instance: invalid-kommun-orgnr-luhn
InstanceOf: Organization
Title: "Ogiltig: organisationsnummer med fel kontrollsiffra"
Description: "INVALID. Bryter mot: organisationsnummer ska ha korrekt kontrollsiffra (Luhn). 212000-0531 ska sluta på 0."
* meta.profile = Canonical(KvKommunOrganization)
* identifier[+].system = $kommunkod
* identifier[=].value = "0680"
* identifier[+].system = $orgnr
* identifier[=].value = "2120000531"
* active = true
* type = KvOrganizationTypeCS#kommun-socialtjanst "Kommunens socialtjänst"
* name = "Jönköpings kommun"

Instance: invalid-kommun-unknown-kommunkod
InstanceOf: Organization
Title: "Ogiltig: okänd kommunkod"
Description: "INVALID. Bryter mot: kommunkoden ska finnas i SCB:s lista. 0699 finns inte."
* meta.profile = Canonical(KvKommunOrganization)
* identifier[+].system = $kommunkod
* identifier[=].value = "0699"
* identifier[+].system = $orgnr
* identifier[=].value = "2120000530"
* active = true
* type = KvOrganizationTypeCS#kommun-socialtjanst "Kommunens socialtjänst"
* name = "Påhittad kommun"

Instance: invalid-vardcentral-without-hsaid
InstanceOf: Organization
Title: "Ogiltig: vårdcentral utan HSA-id"
Description: "INVALID. Bryter mot kv-org-1: vårdcentralen ska ha ett HSA-id."
* meta.profile = Canonical(KvVardcentralOrganization)
* identifier.system = $orgnr
* identifier.value = "2321000057"
* active = true
* type = KvOrganizationTypeCS#vardcentral "Vårdcentral"
* name = "Vårdcentral utan HSA-id"

Instance: invalid-vardcentral-bad-hsaid
InstanceOf: Organization
Title: "Ogiltig: felformaterat HSA-id"
Description: "INVALID. Bryter mot kv-hsa-1: HSA-id ska ha formen SE, tio siffror, bindestreck och ett lokalt id."
* meta.profile = Canonical(KvVardcentralOrganization)
* identifier.system = $hsaid
* identifier.value = "VC-TESTBYN"
* active = true
* type = KvOrganizationTypeCS#vardcentral "Vårdcentral"
* name = "Vårdcentral med fel HSA-id"

// ---------------------------------------------------------------- PractitionerRole
Instance: invalid-socialsekreterare-no-telecom
InstanceOf: PractitionerRole
Title: "Ogiltig: socialsekreterare utan telefon"
Description: "INVALID. Bryter mot kardinaliteten för telecom (1..*) och kv-role-1: socialsekreteraren ska kunna nås per telefon."
* meta.profile = Canonical(KvSocialsekreterare)
* active = true
* practitioner = Reference(example-practitioner-socialsekreterare)
* organization = Reference(example-kommun-jonkoping)
* code = KvPractitionerRoleCS#socialsekreterare "Socialsekreterare"

// ---------------------------------------------------------------- Endpoint
Instance: invalid-endpoint-connection-type
InstanceOf: Endpoint
Title: "Ogiltig: anslutningstyp utanför värdemängden"
Description: "INVALID. Bryter mot den obligatoriska bindningen av connectionType till kv-endpoint-connection-type (hl7-fhir-rest är en kärnkod, men inte vår)."
* meta.profile = Canonical(KvEndpoint)
* status = #active
* connectionType = http://terminology.hl7.org/CodeSystem/endpoint-connection-type#hl7-fhir-rest "HL7 FHIR"
* name = "Fel anslutningstyp"
* managingOrganization = Reference(example-vardcentral)
* payloadType = $payloadType#any "Any"
* address = "https://journal.region.example/fhir"

// ---------------------------------------------------------------- ServiceRequest
Instance: invalid-servicerequest-no-consent
InstanceOf: ServiceRequest
Title: "Ogiltig: förfrågan utan samtycke"
Description: "INVALID. Bryter mot kardinaliteten för supportingInfo (1..*): förfrågan ska referera personens samtycke (Consent)."
* insert InvalidServiceRequestBase
* status = #active

Instance: invalid-servicerequest-bogus-status
InstanceOf: ServiceRequest
Title: "Ogiltig: okänd status"
Description: "INVALID. Bryter mot den obligatoriska bindningen av status: \"bogus\" finns inte i request-status."
* insert InvalidServiceRequestBase
* status = #bogus
* supportingInfo = Reference(example-consent-written)

Instance: invalid-servicerequest-draft-status
InstanceOf: ServiceRequest
Title: "Ogiltig: status utanför profilens värdemängd"
Description: "INVALID. Bryter mot den obligatoriska bindningen av status till kv-servicerequest-status: draft är en kärnkod men är inte tillåten här."
* insert InvalidServiceRequestBase
* status = #draft
* supportingInfo = Reference(example-consent-written)

Instance: invalid-servicerequest-intent-plan
InstanceOf: ServiceRequest
Title: "Ogiltig: fel intent"
Description: "INVALID. Bryter mot det fasta värdet intent = order."
* insert InvalidServiceRequestBase
* intent = #plan
* status = #active
* supportingInfo = Reference(example-consent-written)

Instance: invalid-servicerequest-activity-type
InstanceOf: ServiceRequest
Title: "Ogiltig: okänd aktivitetstyp"
Description: "INVALID. Bryter mot den obligatoriska bindningen av aktivitetstypen till kv-planned-activity-type (koden fotboll finns inte)."
* insert InvalidServiceRequestBase
* extension[0].extension[0].valueCodeableConcept.coding.system = "https://kv-gateway.se/fhir/CodeSystem/kv-planned-activity-type"
* extension[0].extension[0].valueCodeableConcept.coding.code = #fotboll
* extension[0].extension[0].valueCodeableConcept.coding.display = "Fotboll"
* status = #active
* supportingInfo = Reference(example-consent-written)

// ---------------------------------------------------------------- Consent
Instance: invalid-consent-written-no-source
InstanceOf: Consent
Title: "Ogiltig: skriftligt samtycke utan blankett"
Description: "INVALID. Bryter mot kv-consent-1: ett skriftligt samtycke ska ha blanketten bifogad eller refererad."
* insert InvalidConsentBase
* extension[+].url = "https://kv-gateway.se/fhir/StructureDefinition/kv-consent-method"
* extension[=].valueCodeableConcept = KvConsentMethodCS#skriftligt "Skriftligt samtycke"

Instance: invalid-consent-oral-undocumented
InstanceOf: Consent
Title: "Ogiltig: muntligt samtycke utan dokumentation"
Description: "INVALID. Bryter mot kv-consent-2: ett muntligt samtycke ska dokumenteras med datum och vem som tog emot det."
* insert InvalidConsentBase
* extension[+].url = "https://kv-gateway.se/fhir/StructureDefinition/kv-consent-method"
* extension[=].valueCodeableConcept = KvConsentMethodCS#muntligt "Muntligt samtycke"

// ---------------------------------------------------------------- Task
Instance: invalid-task-draft-status
InstanceOf: Task
Title: "Ogiltig: Task-status utanför värdemängden"
Description: "INVALID. Bryter mot den obligatoriska bindningen av status till kv-task-status: draft är inte tillåten."
* insert InvalidTaskBase
* status = #draft

Instance: invalid-task-rejected-without-reason
InstanceOf: Task
Title: "Ogiltig: avvisning utan anledning"
Description: "INVALID. Bryter mot kv-task-1: en avvisad uppgift ska ha statusReason."
* insert InvalidTaskBase
* status = #rejected

Instance: invalid-task-business-status
InstanceOf: Task
Title: "Ogiltig: okänd arbetsstatus"
Description: "INVALID. Bryter mot den obligatoriska bindningen av businessStatus till kv-task-business-status."
* insert InvalidTaskBase
* status = #in-progress
* businessStatus.coding.system = "https://kv-gateway.se/fhir/CodeSystem/kv-task-business-status"
* businessStatus.coding.code = #kaffepaus

// ---------------------------------------------------------------- QuestionnaireResponse
Instance: invalid-qr-missing-required-text
InstanceOf: QuestionnaireResponse
Title: "Ogiltig: ja utan beskrivning"
Description: "INVALID. Bryter mot: 1.2 är obligatorisk när 1.1 är ja (enableWhen + required), men saknas."
* insert InvalidQrHeader
* insert QrUnderlag
* insert QrYesNo(1, 1.1, true)
* insert QrYesNo(2, 2.1, false)
* insert QrYesNo(3, 3.1, false)
* insert QrYesNo(4, 4.1, false)
* insert QrResurser
* insert QrYesNo(kv.anpassning, kv.anpassning.behov, false)
* insert QrOmfattning(20)
* insert QrTail

Instance: invalid-qr-whitespace-text
InstanceOf: QuestionnaireResponse
Title: "Ogiltig: text med bara blanksteg"
Description: "INVALID. Bryter mot kv-qr-2: textsvaret på 1.2 består bara av blanksteg."
* insert InvalidQrHeader
* insert QrUnderlag
* insert QrYesNo(1, 1.1, true)
* item[=].item[+].linkId = "1.2"
* item[=].item[=].answer.valueString = "   "
* insert QrYesNo(2, 2.1, false)
* insert QrYesNo(3, 3.1, false)
* insert QrYesNo(4, 4.1, false)
* insert QrResurser
* insert QrYesNo(kv.anpassning, kv.anpassning.behov, false)
* insert QrOmfattning(20)
* insert QrTail

Instance: invalid-qr-hours-out-of-range
InstanceOf: QuestionnaireResponse
Title: "Ogiltig: för många timmar"
Description: "INVALID. Bryter mot maxValue 40 för kv.omfattning.timmar (svaret är 60)."
* insert InvalidQrHeader
* insert QrUnderlag
* insert QrYesWithText(1, 1.1, 1.2, Nedsatt rörlighet i ländryggen.)
* insert QrYesNo(2, 2.1, false)
* insert QrYesNo(3, 3.1, false)
* insert QrYesNo(4, 4.1, false)
* insert QrResurser
* insert QrYesNo(kv.anpassning, kv.anpassning.behov, false)
* insert QrOmfattning(60)
* insert QrTail

Instance: invalid-qr-answer-to-disabled-item
InstanceOf: QuestionnaireResponse
Title: "Ogiltig: svar på en fråga som inte är aktiv"
Description: "INVALID. Bryter mot enableWhen: 3.2 är besvarad fast 3.1 är nej."
* insert InvalidQrHeader
* insert QrUnderlag
* insert QrYesWithText(1, 1.1, 1.2, Nedsatt rörlighet i ländryggen.)
* insert QrYesNo(2, 2.1, false)
* insert QrYesNo(3, 3.1, false)
* item[=].item[+].linkId = "3.2"
* item[=].item[=].answer.valueString = "Fysioterapi pågår."
* insert QrYesNo(4, 4.1, false)
* insert QrResurser
* insert QrYesNo(kv.anpassning, kv.anpassning.behov, false)
* insert QrOmfattning(20)
* insert QrTail

Instance: invalid-qr-unknown-linkid
InstanceOf: QuestionnaireResponse
Title: "Ogiltig: okänt linkId (sjukskrivning)"
Description: "INVALID. Bryter mot: varje linkId ska finnas i frågeformuläret. Formuläret har ingen fråga om sjukskrivning."
* insert InvalidQrHeader
* insert QrValidBody
* item[+].linkId = "sjukskrivning"
* item[=].answer.valueString = "100 %"

Instance: invalid-qr-choice-outside-valueset
InstanceOf: QuestionnaireResponse
Title: "Ogiltig: val utanför värdemängden"
Description: "INVALID. Bryter mot answerValueSet för kv.underlag.profession: koden astrolog finns inte i kv-answering-profession."
* insert InvalidQrHeader
* insert QrValidBody
* item[0].item[2].answer.valueCoding.system = "https://kv-gateway.se/fhir/CodeSystem/kv-answering-profession"
* item[0].item[2].answer.valueCoding.code = #astrolog
* item[0].item[2].answer.valueCoding.display = "Astrolog"

Instance: invalid-qr-wrong-answer-type
InstanceOf: QuestionnaireResponse
Title: "Ogiltig: fel svarstyp"
Description: "INVALID. Bryter mot frågans typ: 2.1 är boolean men besvaras med text."
* insert InvalidQrHeader
* insert QrUnderlag
* insert QrYesWithText(1, 1.1, 1.2, Nedsatt rörlighet i ländryggen.)
* item[+].linkId = "2"
* item[=].item[+].linkId = "2.1"
* item[=].item[=].answer.valueString = "ja"
* insert QrYesNo(3, 3.1, false)
* insert QrYesNo(4, 4.1, false)
* insert QrResurser
* insert QrYesNo(kv.anpassning, kv.anpassning.behov, false)
* insert QrOmfattning(20)
* insert QrTail

Instance: invalid-qr-wrong-questionnaire
InstanceOf: QuestionnaireResponse
Title: "Ogiltig: fel frågeformulär"
Description: "INVALID. Bryter mot kv-qr-1: utlåtandet ska besvara det nationella frågeformuläret."
* insert InvalidQrHeader
* questionnaire = "https://forms.example/Questionnaire/lokalt-formular"
* insert QrValidBody

Instance: invalid-qr-missing-basedon
InstanceOf: QuestionnaireResponse
Title: "Ogiltig: utlåtande utan förfrågan"
Description: "INVALID. Bryter mot kardinaliteten för basedOn (1..1): utlåtandet ska referera förfrågan."
* meta.profile = Canonical(KvQuestionnaireResponse)
* questionnaire = "https://kv-gateway.se/fhir/Questionnaire/medicinskt-utlatande-aktivitetsformaga|1.0.0"
* status = #completed
* subject = Reference(example-patient-tolvan)
* authored = "2025-11-20T15:45:00+01:00"
* author = Reference(example-rehabkoordinator)
* insert QrValidBody
