// The person, the organisations, the staff and the directory Endpoint.

Profile: KvPatient
Parent: Patient
Id: kv-patient
Title: "Person"
Description: "Personen som förfrågan gäller: patient på vårdcentralen och klient hos kommunen. Identifieras med personnummer, samordningsnummer eller nationellt reservnummer. Skyddad identitet märks i meta.security; då lämnas adress och kontaktuppgifter aldrig ut."
* insert KvConformanceMetadata
* obeys kv-pat-1 and kv-pat-2
* meta.security MS
* meta.security from KvProtectedIdentityVS (extensible)
* meta.security ^short = "Skyddad identitet (sekretessmarkering, skyddad folkbokföring)"
* identifier 1..* MS
* insert SliceIdentifierBySystem
* identifier contains
    personnummer 0..1 MS and
    samordningsnummer 0..1 MS and
    nationelltReservnummer 0..1
* insert IdentifierSlice(personnummer, http://electronichealth.se/identifier/personnummer, Personnummer (ÅÅÅÅMMDDNNNK\))
* identifier[personnummer] obeys kv-pnr-1
* insert IdentifierSlice(samordningsnummer, http://electronichealth.se/identifier/samordningsnummer, Samordningsnummer (ÅÅÅÅMM[DD+60]NNNK\))
* identifier[samordningsnummer] obeys kv-snr-1
* insert IdentifierSlice(nationelltReservnummer, http://electronichealth.se/identifier/nationelltReservnummer, Nationellt reservnummer)
* name MS
* birthDate MS

Profile: KvKommunOrganization
Parent: Organization
Id: kv-organization-kommun
Title: "Kommun (socialtjänst)"
Description: "Kommunens socialtjänst som ställer förfrågan. Identifieras med kommunkod (SCB) och organisationsnummer; HSA-id om sådant finns."
* insert KvConformanceMetadata
* identifier 2..* MS
* insert SliceIdentifierBySystem
* identifier contains
    kommunkod 1..1 MS and
    organisationsnummer 1..1 MS and
    hsaId 0..1
* insert IdentifierSlice(kommunkod, urn:oid:1.2.752.129.2.2.1.17, Kommunkod (fyra siffror\, SCB\))
* identifier[kommunkod] obeys kv-kommunkod-1
* insert IdentifierSlice(organisationsnummer, urn:oid:2.5.4.97, Organisationsnummer (tio siffror\))
* identifier[organisationsnummer] obeys kv-orgnr-1
* insert IdentifierSlice(hsaId, urn:oid:1.2.752.29.4.19, HSA-id)
* identifier[hsaId] obeys kv-hsa-1
* active 1..1 MS
* type 1..* MS
* type = KvOrganizationTypeCS#kommun-socialtjanst
* name 1..1 MS
* telecom MS

Profile: KvVardcentralOrganization
Parent: Organization
Id: kv-organization-vardcentral
Title: "Vårdcentral"
Description: "Vårdcentralen (hälsocentralen) där personen är listad. Identifieras med vårdenhetens HSA-id (urn:oid:1.2.752.29.4.19; RIVTA:s urn:oid:1.2.752.129.2.1.4.1 godtas också). Det är HSA-id:t som gatewayen routar till."
* insert KvConformanceMetadata
* obeys kv-org-1
* identifier 1..* MS
* insert SliceIdentifierBySystem
* identifier contains
    hsaId 0..1 MS and
    hsaIdRivta 0..1 and
    organisationsnummer 0..1
* insert IdentifierSlice(hsaId, urn:oid:1.2.752.29.4.19, HSA-id för vårdenheten)
* identifier[hsaId] obeys kv-hsa-1
* insert IdentifierSlice(hsaIdRivta, urn:oid:1.2.752.129.2.1.4.1, HSA-id för vårdenheten (RIVTA-OID\))
* identifier[hsaIdRivta] obeys kv-hsa-1
* insert IdentifierSlice(organisationsnummer, urn:oid:2.5.4.97, Vårdgivarens organisationsnummer)
* identifier[organisationsnummer] obeys kv-orgnr-1
* active 1..1 MS
* type 1..* MS
* type = KvOrganizationTypeCS#vardcentral
* name 1..1 MS
* endpoint MS
* endpoint only Reference(KvEndpoint)

Profile: KvSocialsekreterare
Parent: PractitionerRole
Id: kv-practitionerrole-socialsekreterare
Title: "Socialsekreterare"
Description: "Handläggaren på kommunens socialtjänst som ställer förfrågan. Telefon krävs, eftersom modellen bygger på direkt kontakt med vårdcentralens rehabkoordinator."
* insert KvConformanceMetadata
* obeys kv-role-1
* identifier MS
* identifier ^short = "HSA-id eller användar-id i verksamhetssystemet"
* active 1..1 MS
* practitioner 1..1 MS
* practitioner only Reference(Practitioner)
* organization 1..1 MS
* organization only Reference(KvKommunOrganization)
* code 1..* MS
* code = KvPractitionerRoleCS#socialsekreterare
* location MS
* location ^short = "Kontor"
* telecom 1..* MS
* telecom.system 1..1
* telecom.value 1..1

Profile: KvRehabkoordinator
Parent: PractitionerRole
Id: kv-practitionerrole-rehabkoordinator
Title: "Rehabkoordinator"
Description: "Rehabkoordinatorn på vårdcentralen som tar emot förfrågan och är kontaktperson för socialtjänsten. Telefon krävs."
* insert KvConformanceMetadata
* obeys kv-role-1
* identifier MS
* identifier ^short = "HSA-id"
* active 1..1 MS
* practitioner 1..1 MS
* practitioner only Reference(Practitioner)
* organization 1..1 MS
* organization only Reference(KvVardcentralOrganization)
* code 1..* MS
* code = KvPractitionerRoleCS#rehabkoordinator
* telecom 1..* MS
* telecom.system 1..1
* telecom.value 1..1

Profile: KvEndpoint
Parent: Endpoint
Id: kv-endpoint
Title: "Leveransadress i katalogen"
Description: "En post i gatewayens katalog: hur förfrågningar levereras till en vårdcentral. Anslutningstypen väljer adapter (FHIR REST, RIVTA via NTjP eller webbinkorg)."
* insert KvConformanceMetadata
* identifier MS
* identifier ^short = "Mottagarens HSA-id (logisk adress)"
* status MS
* connectionType MS
* connectionType from KvEndpointConnectionTypeVS (required)
* name 1..1 MS
* managingOrganization 1..1 MS
* managingOrganization only Reference(KvVardcentralOrganization)
* payloadType MS
* address MS
