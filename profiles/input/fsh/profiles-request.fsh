// The kommun's request and the person's consent.

Profile: KvServiceRequest
Parent: ServiceRequest
Id: kv-servicerequest
Title: "Förfrågan om medicinskt utlåtande om aktivitetsförmåga"
Description: "Kommunens socialtjänst begär ett medicinskt utlåtande om personens aktivitetsförmåga i förhållande till planerade aktiviteter. Förfrågan skickas till vårdcentralen där personen är listad och ska ha personens samtycke (supportingInfo)."
* insert KvConformanceMetadata
* extension contains
    KvPlannedActivity named plannedActivity 1..* MS and
    KvRequestPurpose named purpose 0..1 MS and
    KvMixNeedGroup named mixNeedGroup 0..1 MS and
    KvBackground named background 0..1 MS and
    KvOtherContact named otherContact 0..* MS and
    KvDesiredAnswerDate named desiredAnswerDate 0..1 MS and
    KvAvstamningsmoteRequested named avstamningsmoteRequested 0..1 MS
* identifier 1..* MS
* identifier ^slicing.discriminator.type = #pattern
* identifier ^slicing.discriminator.path = "type"
* identifier ^slicing.rules = #open
* identifier ^slicing.description = "Identifierare delas upp efter typ."
* identifier contains kommunArende 1..1 MS
* identifier[kommunArende] ^short = "Ärendets id i kommunens verksamhetssystem"
* identifier[kommunArende].type 1..1
* identifier[kommunArende].type = KvIdentifierTypeCS#kommun-arende
* identifier[kommunArende].system 1..1
* identifier[kommunArende].value 1..1
* status MS
* status from KvServiceRequestStatusVS (required)
* intent MS
* intent = #order
* category 1..1 MS
* category = KvRequestTypeCS#samverkan-socialtjanst-vard
* code 1..1 MS
* code = KvRequestTypeCS#medicinskt-utlatande-aktivitetsformaga
* subject MS
* subject only Reference(KvPatient)
* authoredOn 1..1 MS
* requester 1..1 MS
* requester only Reference(KvSocialsekreterare)
* performer 0..1 MS
* performer only Reference(KvVardcentralOrganization)
* performer ^comment = "Kommunen behöver inte känna till vårdcentralen. Gatewayen sätter performer när förfrågan har routats via listningen."
* reasonCode 1..* MS
* reasonCode from KvRequestReasonVS (required)
* supportingInfo 1..* MS
* supportingInfo only Reference(KvConsent)
* supportingInfo ^short = "Personens samtycke"
* note MS
* note ^short = "Frågor eller övrigt till vårdcentralen"

Profile: KvConsent
Parent: Consent
Id: kv-consent
Title: "Samtycke till informationsutbyte"
Description: "Personens samtycke till att vårdcentralen lämnar uppgifter om aktivitetsförmåga till kommunens socialtjänst (OSL 2009:400, 12 kap. 2 §). Skriftligt samtycke bifogas eller refereras; muntligt samtycke dokumenteras med vem, när och vad. Utan samtycke utbyts ingenting, och samtycket kan återkallas när som helst (status inactive)."
* insert KvConformanceMetadata
* obeys kv-consent-1 and kv-consent-2
* extension contains KvConsentMethod named method 1..1 MS
* status MS
* scope MS
* scope = $consentscope#patient-privacy
* category 1..1 MS
* category = $loinc#59284-0
* patient 1..1 MS
* patient only Reference(KvPatient)
* dateTime 1..1 MS
* performer 1..1 MS
* performer only Reference(KvPatient)
* performer ^short = "Personen som lämnar samtycket"
* organization 1..1 MS
* organization only Reference(KvKommunOrganization)
* organization ^short = "Kommunen som har inhämtat samtycket"
* source[x] MS
* source[x] only Attachment or Reference(DocumentReference)
* source[x] ^short = "Undertecknad samtyckesblankett (skriftligt samtycke)"
* policy 1..* MS
* policy.uri 1..1
* verification MS
* verification ^short = "Dokumentation av muntligt samtycke"
* verification.extension contains KvConsentRecordedBy named recordedBy 0..1 MS
* verification.verified MS
* verification.verificationDate MS
* provision 1..1 MS
* provision.type 1..1 MS
* provision.type = #permit
* provision.period 1..1 MS
* provision.period.start 1..1
* provision.actor 1..* MS
* provision.actor ^short = "Parter: kommunen som mottagare (IRCP), vårdcentralen som utlämnande part (CST) när den är känd"
* provision.actor.role from KvConsentActorRoleVS (required)
* provision.actor.reference only Reference(KvKommunOrganization or KvVardcentralOrganization or KvSocialsekreterare or KvRehabkoordinator)
* provision.purpose MS
