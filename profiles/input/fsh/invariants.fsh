// FHIRPath invariants. The gateway's validator evaluates these with fhirpathpy.
// Check digits (Luhn) and reference lists (kommunkod, länskod) are checked in Python.

Invariant: kv-pat-1
Description: "Personen ska ha personnummer, samordningsnummer eller nationellt reservnummer."
Severity: #error
Expression: "identifier.where(system = 'http://electronichealth.se/identifier/personnummer' or system = 'http://electronichealth.se/identifier/samordningsnummer' or system = 'http://electronichealth.se/identifier/nationelltReservnummer').exists()"

Invariant: kv-pat-2
Description: "Adress och kontaktuppgifter får inte lämnas för en person med skyddad identitet."
Severity: #error
Expression: "meta.security.where(system = 'http://hl7.se/fhir/ig/base/CodeSystem/SecurityLabel' and (code = 'sekretessmarkering' or code = 'skyddadFolkbokforing')).exists() implies (address.empty() and telecom.empty() and contact.empty())"

Invariant: kv-pnr-1
Description: "Personnummer ska ha tolv siffror (ÅÅÅÅMMDDNNNK)."
Severity: #error
Expression: "value.matches('^(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{4}$')"

Invariant: kv-snr-1
Description: "Samordningsnummer ska ha tolv siffror där födelsedagen är ökad med 60 (ÅÅÅÅMM[61-91]NNNK)."
Severity: #error
Expression: "value.matches('^(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(6[1-9]|[78][0-9]|9[01])[0-9]{4}$')"

Invariant: kv-hsa-1
Description: "HSA-id ska ha formen SE, tio siffror, bindestreck och ett lokalt id."
Severity: #error
Expression: "value.matches('^SE[0-9]{10}-[A-Za-z0-9]{1,31}$')"

Invariant: kv-orgnr-1
Description: "Organisationsnummer ska ha tio siffror."
Severity: #error
Expression: "value.matches('^[0-9]{10}$')"

Invariant: kv-kommunkod-1
Description: "Kommunkod ska ha fyra siffror."
Severity: #error
Expression: "value.matches('^[0-9]{4}$')"

Invariant: kv-org-1
Description: "Vårdcentralen ska ha ett HSA-id (urn:oid:1.2.752.29.4.19 eller RIVTA:s urn:oid:1.2.752.129.2.1.4.1)."
Severity: #error
Expression: "identifier.where(system = 'urn:oid:1.2.752.29.4.19' or system = 'urn:oid:1.2.752.129.2.1.4.1').exists()"

Invariant: kv-role-1
Description: "Minst ett telefonnummer ska anges för direktkontakt."
Severity: #error
Expression: "telecom.where(system = 'phone' and value.exists()).exists()"

Invariant: kv-consent-1
Description: "Ett skriftligt samtycke ska ha den undertecknade blanketten bifogad (sourceAttachment) eller refererad (sourceReference)."
Severity: #error
Expression: "extension.where(url = 'https://kv-gateway.se/fhir/StructureDefinition/kv-consent-method').value.coding.where(code = 'skriftligt').exists() implies source.exists()"

Invariant: kv-consent-2
Description: "Ett muntligt samtycke ska vara dokumenterat: verification med datum och vem som dokumenterade det."
Severity: #error
Expression: "extension.where(url = 'https://kv-gateway.se/fhir/StructureDefinition/kv-consent-method').value.coding.where(code = 'muntligt').exists() implies verification.where(verified = true and verificationDate.exists() and extension.where(url = 'https://kv-gateway.se/fhir/StructureDefinition/kv-consent-recorded-by').exists()).exists()"

Invariant: kv-task-1
Description: "En avvisad uppgift ska ha en anledning (statusReason)."
Severity: #error
Expression: "status = 'rejected' implies statusReason.exists()"

Invariant: kv-task-2
Description: "En slutförd uppgift ska ha utlåtandet som utdata."
Severity: #error
Expression: "status = 'completed' implies output.where(type.coding.where(system = 'https://kv-gateway.se/fhir/CodeSystem/kv-task-parameter-type' and code = 'questionnaire-response').exists()).exists()"

Invariant: kv-qr-1
Description: "Utlåtandet ska besvara det nationella frågeformuläret Medicinskt utlåtande till socialtjänsten – aktivitetsförmåga."
Severity: #error
Expression: "questionnaire = 'https://kv-gateway.se/fhir/Questionnaire/medicinskt-utlatande-aktivitetsformaga' or questionnaire.startsWith('https://kv-gateway.se/fhir/Questionnaire/medicinskt-utlatande-aktivitetsformaga|')"

Invariant: kv-qr-2
Description: "Textsvar får inte bestå av enbart blanksteg."
Severity: #error
Expression: "repeat(item).answer.value.ofType(string).all(trim().length() > 0)"
