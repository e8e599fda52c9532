// Aliases shared by every FSH file in this folder.

// Swedish identifier systems (as listed in shared/DOMAIN.md and used by HL7 Sweden)
Alias: $personnummer = http://electronichealth.se/identifier/personnummer
Alias: $samordningsnummer = http://electronichealth.se/identifier/samordningsnummer
Alias: $reservnummer = http://electronichealth.se/identifier/nationelltReservnummer
Alias: $hsaid = urn:oid:1.2.752.29.4.19
Alias: $hsaidRivta = urn:oid:1.2.752.129.2.1.4.1
Alias: $orgnr = urn:oid:2.5.4.97
Alias: $orgnrRivta = urn:oid:1.2.752.29.4.3
Alias: $kommunkod = urn:oid:1.2.752.129.2.2.1.17
Alias: $lanskod = urn:oid:1.2.752.129.2.2.1.18

// HL7 Sweden security labels for protected identity (codes repeated, not imported)
Alias: $seSecurityLabel = http://hl7.se/fhir/ig/base/CodeSystem/SecurityLabel

// HL7 / terminology.hl7.org code systems from the R4 core package
Alias: $v2-0203 = http://terminology.hl7.org/CodeSystem/v2-0203
Alias: $v3-ParticipationType = http://terminology.hl7.org/CodeSystem/v3-ParticipationType
Alias: $consentscope = http://terminology.hl7.org/CodeSystem/consentscope
Alias: $loinc = http://loinc.org
Alias: $payloadType = http://terminology.hl7.org/CodeSystem/endpoint-payload-type
Alias: $itemControl = http://hl7.org/fhir/questionnaire-item-control
Alias: $expectation = http://hl7.org/fhir/StructureDefinition/capabilitystatement-expectation

// Extensions from the R4 core package
Alias: $minValue = http://hl7.org/fhir/StructureDefinition/minValue
Alias: $maxValue = http://hl7.org/fhir/StructureDefinition/maxValue
Alias: $questionnaire-itemControl = http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl

// Our canonical base
Alias: $kv = https://kv-gateway.se/fhir
