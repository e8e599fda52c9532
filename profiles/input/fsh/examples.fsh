// Valid examples: one or more for every profile. Synthetic persons only
// (Skatteverket-style test personnummer with a valid Luhn check digit).

// ---------------------------------------------------------------- people
Instance: example-patient-tolvan
InstanceOf: KvPatient
Title: "Tolvan Tolvansson (personnummer)"
Description: "Exempelperson med test-personnummer 19121212-1212."
* identifier[personnummer].value = "191212121212"
* name.family = "Tolvansson"
* name.given = "Tolvan"
* birthDate = "1912-12-12"
* gender = #male
* address.line = "Testgatan 12"
* address.postalCode = "55111"
* address.city = "Jönköping"
* telecom.system = #phone
* telecom.value = "+46701234567"

Instance: example-patient-protected
InstanceOf: KvPatient
Title: "Person med skyddad identitet"
Description: "Exempelperson med sekretessmarkering. Adress och kontaktuppgifter saknas, som profilen kräver."
* meta.security = $seSecurityLabel#sekretessmarkering "Sekretessmarkering"
* identifier[personnummer].value = "198801012389"
* name.family = "Testsson"
* name.given = "Kim"
* birthDate = "1988-01-01"

Instance: example-patient-samordningsnummer
InstanceOf: KvPatient
Title: "Person med samordningsnummer"
Description: "Exempelperson med test-samordningsnummer (födelsedag 3 + 60)."
* identifier[samordningsnummer].value = "197010632383"
* name.family = "Exempel"
* name.given = "Alex"
* birthDate = "1970-10-03"

Instance: example-practitioner-socialsekreterare
InstanceOf: Practitioner
Title: "Anna Handläggare"
Description: "Socialsekreterarens personuppgifter."
* name.family = "Handläggare"
* name.given = "Anna"

Instance: example-practitioner-rehabkoordinator
InstanceOf: Practitioner
Title: "Bertil Koordinator"
Description: "Rehabkoordinatorns personuppgifter."
* identifier.system = $hsaid
* identifier.value = "SE2321000057-P0000001"
* name.family = "Koordinator"
* name.given = "Bertil"

// ---------------------------------------------------------------- organisations
Instance: example-kommun-jonkoping
InstanceOf: KvKommunOrganization
Title: "Jönköpings kommun, socialtjänsten"
Description: "Exempel på kommun med kommunkod och organisationsnummer."
* identifier[kommunkod].value = "0680"
* identifier[organisationsnummer].value = "2120000530"
* active = true
* type = KvOrganizationTypeCS#kommun-socialtjanst "Kommunens socialtjänst"
* name = "Jönköpings kommun, socialtjänsten, ekonomiskt bistånd"
* telecom.system = #phone
* telecom.value = "+4636100000"

Instance: example-vardcentral
InstanceOf: KvVardcentralOrganization
Title: "Vårdcentralen Testbyn"
Description: "Exempel på vårdcentral med HSA-id och leveransadress i katalogen."
* identifier[hsaId].value = "SE2321000057-VC01"
* identifier[organisationsnummer].value = "2321000057"
* active = true
* type = KvOrganizationTypeCS#vardcentral "Vårdcentral"
* name = "Vårdcentralen Testbyn"
* endpoint = Reference(example-endpoint-fhir-rest)

// ---------------------------------------------------------------- staff
Instance: example-socialsekreterare
InstanceOf: KvSocialsekreterare
Title: "Anna Handläggare, socialsekreterare"
Description: "Socialsekreterare med telefon och e-post."
* identifier.type = KvIdentifierTypeCS#verksamhetssystem-anvandare "Användar-id i verksamhetssystem"
* identifier.system = "https://kommun.example/jonkoping/verksamhetssystem/anvandare"
* identifier.value = "anha01"
* active = true
* practitioner = Reference(example-practitioner-socialsekreterare)
* organization = Reference(example-kommun-jonkoping)
* code = KvPractitionerRoleCS#socialsekreterare "Socialsekreterare"
* telecom[+].system = #phone
* telecom[=].value = "+4636100123"
* telecom[+].system = #email
* telecom[=].value = "anna.handlaggare@kommun.example"

Instance: example-rehabkoordinator
InstanceOf: KvRehabkoordinator
Title: "Bertil Koordinator, rehabkoordinator"
Description: "Rehabkoordinator på vårdcentralen med telefon."
* identifier.system = $hsaid
* identifier.value = "SE2321000057-P0000001"
* active = true
* practitioner = Reference(example-practitioner-rehabkoordinator)
* organization = Reference(example-vardcentral)
* code = KvPractitionerRoleCS#rehabkoordinator "Rehabkoordinator"
* telecom[+].system = #phone
* telecom[=].value = "+4610242000"

// ---------------------------------------------------------------- directory
Instance: example-endpoint-fhir-rest
InstanceOf: KvEndpoint
Title: "Leverans med FHIR REST"
Description: "Katalogpost för en vårdcentral vars journalsystem tar emot FHIR REST."
* identifier.system = $hsaid
* identifier.value = "SE2321000057-VC01"
* status = #active
* connectionType = KvEndpointConnectionTypeCS#fhir-rest "FHIR REST"
* name = "Vårdcentralen Testbyn – journalsystem (FHIR)"
* managingOrganization = Reference(example-vardcentral)
* payloadType = $payloadType#any "Any"
* payloadMimeType = #application/fhir+json
* address = "https://journal.region.example/fhir"

Instance: example-endpoint-rivta
InstanceOf: KvEndpoint
Title: "Leverans med RIVTA via NTjP"
Description: "Katalogpost för leverans via den nationella tjänsteplattformen. Identifieraren är den logiska adressen."
* identifier.system = $hsaid
* identifier.value = "SE2321000057-VC01"
* status = #active
* connectionType = KvEndpointConnectionTypeCS#rivta "RIVTA via NTjP"
* name = "Vårdcentralen Testbyn – NTjP"
* managingOrganization = Reference(example-vardcentral)
* payloadType = $payloadType#any "Any"
* address = "https://ntjp.example/vp"

Instance: example-endpoint-inbox
InstanceOf: KvEndpoint
Title: "Leverans till webbinkorgen"
Description: "Katalogpost för en vårdcentral som använder gatewayens webbinkorg."
* status = #active
* connectionType = KvEndpointConnectionTypeCS#inbox "Webbinkorg"
* name = "Vårdcentralen Testbyn – webbinkorg"
* managingOrganization = Reference(example-vardcentral)
* payloadType = $payloadType#none "None"
* address = "https://kv-gateway.se/inbox/SE2321000057-VC01"

// ---------------------------------------------------------------- consent
Instance: example-consent-written
InstanceOf: KvConsent
Title: "Skriftligt samtycke"
Description: "Skriftligt samtycke: den undertecknade blanketten är bifogad."
* extension[method].valueCodeableConcept = KvConsentMethodCS#skriftligt "Skriftligt samtycke"
* status = #active
* scope = $consentscope#patient-privacy "Privacy Consent"
* category = $loinc#59284-0 "Patient Consent"
* patient = Reference(example-patient-tolvan)
* dateTime = "2025-11-03T10:15:00+01:00"
* performer = Reference(example-patient-tolvan)
* organization = Reference(example-kommun-jonkoping)
* sourceAttachment.contentType = #application/pdf
* sourceAttachment.title = "Samtycke att häva sekretess, undertecknat"
* sourceAttachment.url = "https://arende.kommun.example/dokument/2025-4711-samtycke.pdf"
* sourceAttachment.creation = "2025-11-03"
* policy.authority = "https://www.riksdagen.se"
* policy.uri = "https://www.riksdagen.se/sv/dokument-och-lagar/dokument/svensk-forfattningssamling/offentlighets-och-sekretesslag-2009400_sfs-2009-400/#K12P2"
* provision.type = #permit
* provision.period.start = "2025-11-03"
* provision.period.end = "2026-05-03"
* provision.actor[+].role = $v3-ParticipationType#IRCP "information recipient"
* provision.actor[=].reference = Reference(example-kommun-jonkoping)
* provision.purpose = http://terminology.hl7.org/CodeSystem/v3-ActReason#COC "coordination of care"

Instance: example-consent-oral
InstanceOf: KvConsent
Title: "Muntligt samtycke"
Description: "Muntligt samtycke dokumenterat i verksamhetssystemet: vem, när och vad."
* extension[method].valueCodeableConcept = KvConsentMethodCS#muntligt "Muntligt samtycke"
* status = #active
* scope = $consentscope#patient-privacy "Privacy Consent"
* category = $loinc#59284-0 "Patient Consent"
* patient = Reference(example-patient-samordningsnummer)
* dateTime = "2025-11-04T14:00:00+01:00"
* performer = Reference(example-patient-samordningsnummer)
* organization = Reference(example-kommun-jonkoping)
* policy.uri = "https://www.riksdagen.se/sv/dokument-och-lagar/dokument/svensk-forfattningssamling/offentlighets-och-sekretesslag-2009400_sfs-2009-400/#K12P2"
* verification.verified = true
* verification.verifiedWith = Reference(example-patient-samordningsnummer)
* verification.verificationDate = "2025-11-04T14:00:00+01:00"
* verification.extension[recordedBy].valueReference = Reference(example-socialsekreterare)
* provision.type = #permit
* provision.period.start = "2025-11-04"
* provision.actor[+].role = $v3-ParticipationType#IRCP "information recipient"
* provision.actor[=].reference = Reference(example-kommun-jonkoping)
* provision.actor[+].role = $v3-ParticipationType#CST "custodian"
* provision.actor[=].reference = Reference(example-vardcentral)

// ---------------------------------------------------------------- request
Instance: example-servicerequest
InstanceOf: KvServiceRequest
Title: "Förfrågan om medicinskt utlåtande"
Description: "Kommunens förfrågan om Tolvans aktivitetsförmåga inför praktik och SFI."
* extension[plannedActivity][+].extension[type].valueCodeableConcept = KvPlannedActivityTypeCS#praktik "Praktik"
* extension[plannedActivity][=].extension[hoursPerWeek].valueDecimal = 20
* extension[plannedActivity][=].extension[startDate].valueDate = "2025-12-01"
* extension[plannedActivity][=].extension[physicalDemands].valueString = "Lager: lyft upp till 15 kg, mycket stående."
* extension[plannedActivity][=].extension[mentalDemands].valueString = "Arbete i grupp, tydliga instruktioner."
* extension[plannedActivity][=].extension[text].valueString = "Praktik på kommunens återbruk, förmiddagar."
* extension[plannedActivity][+].extension[type].valueCodeableConcept = KvPlannedActivityTypeCS#sfi "SFI"
* extension[plannedActivity][=].extension[hoursPerWeek].valueDecimal = 6
* extension[plannedActivity][=].extension[startDate].valueDate = "2025-12-01"
* extension[purpose].valueString = "Vi behöver veta om Tolvan kan delta i praktik och SFI och i vilken omfattning, och vilka anpassningar som behövs."
* extension[mixNeedGroup].valueCodeableConcept = KvMixNeedGroupCS#RH2 "RH2 – rehabiliteringsinriktat behov, nivå 2"
* extension[background].valueString = "Har haft försörjningsstöd i två år. Uppger ryggsmärta och sömnsvårigheter."
* extension[otherContact][+].extension[type].valueCodeableConcept = KvOtherContactTypeCS#af "Arbetsförmedlingen"
* extension[otherContact][=].extension[text].valueString = "Inskriven, deltar i program."
* extension[otherContact][+].extension[type].valueCodeableConcept = KvOtherContactTypeCS#boendestod "Boendestöd"
* extension[desiredAnswerDate].valueDate = "2025-12-15"
* extension[avstamningsmoteRequested].valueBoolean = true
* identifier[kommunArende].type = KvIdentifierTypeCS#kommun-arende "Kommunens ärende-id"
* identifier[kommunArende].system = "https://kommun.example/jonkoping/verksamhetssystem/arende"
* identifier[kommunArende].value = "EB-2025-4711"
* status = #active
* intent = #order
* category = KvRequestTypeCS#samverkan-socialtjanst-vard "Samverkan mellan socialtjänst och hälso- och sjukvård"
* code = KvRequestTypeCS#medicinskt-utlatande-aktivitetsformaga "Medicinskt utlåtande om aktivitetsförmåga"
* subject = Reference(example-patient-tolvan)
* authoredOn = "2025-11-05T09:30:00+01:00"
* requester = Reference(example-socialsekreterare)
* performer = Reference(example-vardcentral)
* reasonCode = KvRequestReasonCS#ohalsa-uppgiven "Personen uppger att ohälsa hindrar deltagande"
* supportingInfo = Reference(example-consent-written)

// ---------------------------------------------------------------- task
Instance: example-task-requested
InstanceOf: KvTask
Title: "Ny förfrågan (OLÄST)"
Description: "Uppgiften när gatewayen har routat förfrågan till vårdcentralen."
* basedOn = Reference(example-servicerequest)
* status = #requested
* intent = #order
* code = KvRequestTypeCS#medicinskt-utlatande-aktivitetsformaga "Medicinskt utlåtande om aktivitetsförmåga"
* focus = Reference(example-servicerequest)
* for = Reference(example-patient-tolvan)
* authoredOn = "2025-11-05T09:30:05+01:00"
* requester = Reference(example-socialsekreterare)
* owner = Reference(example-vardcentral)
* restriction.period.end = "2025-12-15"
* input[questionnaire].type = KvTaskParameterTypeCS#questionnaire "Frågeformulär"
* input[questionnaire].valueCanonical = "https://kv-gateway.se/fhir/Questionnaire/medicinskt-utlatande-aktivitetsformaga|1.0.0"

Instance: example-task-in-progress
InstanceOf: KvTask
Title: "Förfrågan under arbete: besök bokat"
Description: "Rehabkoordinatorn har accepterat förfrågan och bokat ett besök."
* basedOn = Reference(example-servicerequest)
* status = #in-progress
* businessStatus = KvTaskBusinessStatusCS#besok-bokat "Besök bokat"
* intent = #order
* code = KvRequestTypeCS#medicinskt-utlatande-aktivitetsformaga "Medicinskt utlåtande om aktivitetsförmåga"
* focus = Reference(example-servicerequest)
* for = Reference(example-patient-tolvan)
* authoredOn = "2025-11-05T09:30:05+01:00"
* lastModified = "2025-11-06T13:00:00+01:00"
* owner = Reference(example-rehabkoordinator)
* restriction.period.end = "2025-12-15"
* input[questionnaire].type = KvTaskParameterTypeCS#questionnaire "Frågeformulär"
* input[questionnaire].valueCanonical = "https://kv-gateway.se/fhir/Questionnaire/medicinskt-utlatande-aktivitetsformaga|1.0.0"

Instance: example-task-rejected
InstanceOf: KvTask
Title: "Avvisad förfrågan (AVVISAD)"
Description: "Vårdcentralen avvisar eftersom personen inte är listad där."
* basedOn = Reference(example-servicerequest)
* status = #rejected
* statusReason = KvRejectionReasonCS#ej-listad "Personen är inte listad på enheten"
* intent = #order
* code = KvRequestTypeCS#medicinskt-utlatande-aktivitetsformaga "Medicinskt utlåtande om aktivitetsförmåga"
* focus = Reference(example-servicerequest)
* for = Reference(example-patient-tolvan)
* authoredOn = "2025-11-05T09:30:05+01:00"
* owner = Reference(example-vardcentral)
* input[questionnaire].type = KvTaskParameterTypeCS#questionnaire "Frågeformulär"
* input[questionnaire].valueCanonical = "https://kv-gateway.se/fhir/Questionnaire/medicinskt-utlatande-aktivitetsformaga|1.0.0"

Instance: example-task-completed
InstanceOf: KvTask
Title: "Besvarad förfrågan (KLAR)"
Description: "Utlåtandet är lämnat och finns som utdata."
* basedOn = Reference(example-servicerequest)
* status = #completed
* businessStatus = KvTaskBusinessStatusCS#utlatande-skickat "Utlåtande skickat"
* intent = #order
* code = KvRequestTypeCS#medicinskt-utlatande-aktivitetsformaga "Medicinskt utlåtande om aktivitetsförmåga"
* focus = Reference(example-servicerequest)
* for = Reference(example-patient-tolvan)
* authoredOn = "2025-11-05T09:30:05+01:00"
* lastModified = "2025-11-20T16:00:00+01:00"
* owner = Reference(example-vardcentral)
* input[questionnaire].type = KvTaskParameterTypeCS#questionnaire "Frågeformulär"
* input[questionnaire].valueCanonical = "https://kv-gateway.se/fhir/Questionnaire/medicinskt-utlatande-aktivitetsformaga|1.0.0"
* output[questionnaireResponse].type = KvTaskParameterTypeCS#questionnaire-response "Utlåtande"
* output[questionnaireResponse].valueReference = Reference(example-questionnaireresponse)

// ---------------------------------------------------------------- answer
Instance: example-questionnaireresponse
InstanceOf: KvQuestionnaireResponse
Title: "Utlåtande om Tolvans aktivitetsförmåga"
Description: "Ett komplett och giltigt utlåtande."
* questionnaire = "https://kv-gateway.se/fhir/Questionnaire/medicinskt-utlatande-aktivitetsformaga|1.0.0"
* basedOn = Reference(example-servicerequest)
* status = #completed
* subject = Reference(example-patient-tolvan)
* authored = "2025-11-20T15:45:00+01:00"
* author = Reference(example-rehabkoordinator)
* item[+].linkId = "kv.underlag"
* item[=].text = "Underlag för utlåtandet"
* item[=].item[+].linkId = "kv.underlag.typ"
* item[=].item[=].answer[+].valueCoding = KvAnswerBasisCS#journalgranskning "Journalgranskning"
* item[=].item[=].answer[+].valueCoding = KvAnswerBasisCS#besok "Besök"
* item[=].item[+].linkId = "kv.underlag.datum"
* item[=].item[=].answer.valueDate = "2025-11-18"
* item[=].item[+].linkId = "kv.underlag.profession"
* item[=].item[=].answer.valueCoding = KvAnsweringProfessionCS#fysioterapeut "Fysioterapeut"
* item[+].linkId = "1"
* item[=].text = "Funktionsnedsättning"
* item[=].item[+].linkId = "1.1"
* item[=].item[=].answer.valueBoolean = true
* item[=].item[+].linkId = "1.2"
* item[=].item[=].answer.valueString = "Nedsatt rörlighet i ländryggen och smärta vid framåtböjning; bedömt vid besök 2025-11-18."
* item[+].linkId = "2"
* item[=].text = "Aktivitetsbegränsning"
* item[=].item[+].linkId = "2.1"
* item[=].item[=].answer.valueBoolean = true
* item[=].item[+].linkId = "2.2"
* item[=].item[=].answer.valueString = "Klarar inte tunga lyft eller långvarigt stående mer än 30 minuter i taget."
* item[+].linkId = "3"
* item[=].text = "Pågående eller planerad utredning eller behandling"
* item[=].item[+].linkId = "3.1"
* item[=].item[=].answer.valueBoolean = false
* item[+].linkId = "4"
* item[=].text = "Aktiviteter som kan försämra tillståndet"
* item[=].item[+].linkId = "4.1"
* item[=].item[=].answer.valueBoolean = true
* item[=].item[+].linkId = "4.2"
* item[=].item[=].answer.valueString = "Lyft över 10 kg och arbete med armarna ovanför axelhöjd."
* item[+].linkId = "kv.resurser"
* item[=].text = "Förmågor och resurser"
* item[=].item[+].linkId = "kv.resurser.fungerar"
* item[=].item[=].answer.valueString = "Sittande arbete och lättare uppgifter med möjlighet till pauser fungerar bra. Motiverad."
* item[+].linkId = "kv.anpassning"
* item[=].text = "Anpassningar"
* item[=].item[+].linkId = "kv.anpassning.behov"
* item[=].item[=].answer.valueBoolean = true
* item[=].item[+].linkId = "kv.anpassning.beskrivning"
* item[=].item[=].answer.valueString = "Möjlighet att växla mellan sittande och stående, inga tunga lyft."
* item[+].linkId = "kv.omfattning"
* item[=].text = "Omfattning av deltagande"
* item[=].item[+].linkId = "kv.omfattning.kan-delta"
* item[=].item[=].answer.valueBoolean = true
* item[=].item[+].linkId = "kv.omfattning.timmar"
* item[=].item[=].answer.valueInteger = 20
* item[+].linkId = "kv.prognos"
* item[=].text = "Prognos"
* item[=].item[+].linkId = "kv.prognos.bedomning"
* item[=].item[=].answer.valueString = "God prognos med fortsatt fysioterapi; omfattningen kan troligen öka inom tre månader."
* item[+].linkId = "kv.plan"
* item[=].text = "Rehabiliterings- eller vårdplan"
* item[=].item[+].linkId = "kv.plan.finns"
* item[=].item[=].answer.valueBoolean = false
* item[+].linkId = "kv.uppfoljning"
* item[=].text = "Fortsatt samverkan"
* item[=].item[+].linkId = "kv.uppfoljning.rekommendation"
* item[=].item[=].answer.valueCoding = KvFollowUpCS#avstamningsmote "Avstämningsmöte"
* item[+].linkId = "kv.kontakt"
* item[=].text = "Kontaktperson för direkt kontakt"
* item[=].item[+].linkId = "kv.kontakt.namn"
* item[=].item[=].answer.valueString = "Bertil Koordinator"
* item[=].item[+].linkId = "kv.kontakt.telefon"
* item[=].item[=].answer.valueString = "+4610242000"

// ---------------------------------------------------------------- request Bundle
Instance: example-request-bundle
InstanceOf: Bundle
Title: "Förfrågan som transaktion"
Description: "Det som ett verksamhetssystem skickar: Patient, Organization, Practitioner, PractitionerRole, Consent och ServiceRequest i en transaktion. Referenserna är relativa och motsvarar entry.fullUrl."
* type = #transaction
* entry[+].fullUrl = "https://kv-gateway.se/fhir/Patient/example-patient-tolvan"
* entry[=].resource = example-patient-tolvan
* entry[=].request.method = #PUT
* entry[=].request.url = "Patient/example-patient-tolvan"
* entry[+].fullUrl = "https://kv-gateway.se/fhir/Organization/example-kommun-jonkoping"
* entry[=].resource = example-kommun-jonkoping
* entry[=].request.method = #PUT
* entry[=].request.url = "Organization/example-kommun-jonkoping"
* entry[+].fullUrl = "https://kv-gateway.se/fhir/Practitioner/example-practitioner-socialsekreterare"
* entry[=].resource = example-practitioner-socialsekreterare
* entry[=].request.method = #PUT
* entry[=].request.url = "Practitioner/example-practitioner-socialsekreterare"
* entry[+].fullUrl = "https://kv-gateway.se/fhir/PractitionerRole/example-socialsekreterare"
* entry[=].resource = example-socialsekreterare
* entry[=].request.method = #PUT
* entry[=].request.url = "PractitionerRole/example-socialsekreterare"
* entry[+].fullUrl = "https://kv-gateway.se/fhir/Consent/example-consent-written"
* entry[=].resource = example-consent-written
* entry[=].request.method = #PUT
* entry[=].request.url = "Consent/example-consent-written"
* entry[+].fullUrl = "https://kv-gateway.se/fhir/ServiceRequest/example-servicerequest"
* entry[=].resource = example-servicerequest
* entry[=].request.method = #PUT
* entry[=].request.url = "ServiceRequest/example-servicerequest"
