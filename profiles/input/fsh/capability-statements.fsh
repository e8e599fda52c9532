// What a kommun case system (client) and a region journal system (server) must support.
// kind = requirements: these describe obligations, not one implementation.

RuleSet: Expect(level)
* extension[$expectation].valueCode = #{level}

Instance: kv-case-system-client
InstanceOf: CapabilityStatement
Usage: #definition
Title: "Krav på kommunens verksamhetssystem (klient)"
Description: "Vad ett verksamhetssystem i kommunen (Treserva, Lifecare, Procapita, Viva/Combine …) ska stödja för att skicka förfrågningar via kv-gateway och ta emot utlåtanden."
* url = "https://kv-gateway.se/fhir/CapabilityStatement/kv-case-system-client"
* language = #sv
* version = "0.1.0"
* name = "KvCaseSystemClient"
* title = "Krav på kommunens verksamhetssystem (klient)"
* status = #draft
* experimental = false
* date = "2025-11-22"
* publisher = "kv-gateway"
* description = "Kommunens verksamhetssystem skickar förfrågan som en transaktion (Bundle) med Patient, PractitionerRole, Organization, Consent och ServiceRequest. Det följer förfrågan via Task och hämtar utlåtandet (QuestionnaireResponse). Notifiering sker med Subscription (rest-hook) eller webhook."
* jurisdiction = urn:iso:std:iso:3166#SE "Sweden"
* kind = #requirements
* fhirVersion = #4.0.1
* format[+] = #json
* rest[+].mode = #client
* rest[=].documentation = "Klienten autentiserar sig mot gatewayen och skickar bara förfrågningar för sin egen kommun."
* rest[=].interaction[+].code = #transaction
* rest[=].interaction[=] insert Expect(SHALL)
* rest[=].resource[+].type = #ServiceRequest
* rest[=].resource[=] insert Expect(SHALL)
* rest[=].resource[=].supportedProfile[+] = Canonical(KvServiceRequest)
* rest[=].resource[=].interaction[+].code = #create
* rest[=].resource[=].interaction[+].code = #read
* rest[=].resource[=].interaction[+].code = #update
* rest[=].resource[=].documentation = "Återkallas genom update med status revoked."
* rest[=].resource[+].type = #Consent
* rest[=].resource[=] insert Expect(SHALL)
* rest[=].resource[=].supportedProfile[+] = Canonical(KvConsent)
* rest[=].resource[=].interaction[+].code = #create
* rest[=].resource[=].interaction[+].code = #update
* rest[=].resource[=].documentation = "Ett återkallat samtycke skickas som update med status inactive."
* rest[=].resource[+].type = #Patient
* rest[=].resource[=] insert Expect(SHALL)
* rest[=].resource[=].supportedProfile[+] = Canonical(KvPatient)
* rest[=].resource[=].interaction[+].code = #create
* rest[=].resource[+].type = #PractitionerRole
* rest[=].resource[=] insert Expect(SHALL)
* rest[=].resource[=].supportedProfile[+] = Canonical(KvSocialsekreterare)
* rest[=].resource[=].interaction[+].code = #create
* rest[=].resource[+].type = #Organization
* rest[=].resource[=] insert Expect(SHALL)
* rest[=].resource[=].supportedProfile[+] = Canonical(KvKommunOrganization)
* rest[=].resource[=].interaction[+].code = #create
* rest[=].resource[+].type = #Task
* rest[=].resource[=] insert Expect(SHALL)
* rest[=].resource[=].supportedProfile[+] = Canonical(KvTask)
* rest[=].resource[=].interaction[+].code = #read
* rest[=].resource[=].interaction[+].code = #search-type
* rest[=].resource[=].searchParam[+].name = "focus"
* rest[=].resource[=].searchParam[=].definition = "http://hl7.org/fhir/SearchParameter/Task-focus"
* rest[=].resource[=].searchParam[=].type = #reference
* rest[=].resource[=].searchParam[+].name = "status"
* rest[=].resource[=].searchParam[=].definition = "http://hl7.org/fhir/SearchParameter/Task-status"
* rest[=].resource[=].searchParam[=].type = #token
* rest[=].resource[+].type = #QuestionnaireResponse
* rest[=].resource[=] insert Expect(SHALL)
* rest[=].resource[=].supportedProfile[+] = Canonical(KvQuestionnaireResponse)
* rest[=].resource[=].interaction[+].code = #read
* rest[=].resource[=].interaction[+].code = #search-type
* rest[=].resource[=].searchParam[+].name = "based-on"
* rest[=].resource[=].searchParam[=].definition = "http://hl7.org/fhir/SearchParameter/QuestionnaireResponse-based-on"
* rest[=].resource[=].searchParam[=].type = #reference
* rest[=].resource[+].type = #Questionnaire
* rest[=].resource[=] insert Expect(SHOULD)
* rest[=].resource[=].interaction[+].code = #read
* rest[=].resource[+].type = #Subscription
* rest[=].resource[=] insert Expect(SHOULD)
* rest[=].resource[=].interaction[+].code = #create
* rest[=].resource[=].documentation = "Kanaltyp rest-hook för notifiering när Task ändras."

Instance: kv-journal-system-server
InstanceOf: CapabilityStatement
Usage: #definition
Title: "Krav på regionens journalsystem (server)"
Description: "Vad ett journalsystem i regionen (Cosmic, TakeCare, Millennium, Melior, PMO …) ska stödja för att ta emot förfrågningar från kv-gateway med FHIR REST och lämna utlåtanden."
* url = "https://kv-gateway.se/fhir/CapabilityStatement/kv-journal-system-server"
* language = #sv
* version = "0.1.0"
* name = "KvJournalSystemServer"
* title = "Krav på regionens journalsystem (server)"
* status = #draft
* experimental = false
* date = "2025-11-22"
* publisher = "kv-gateway"
* description = "Journalsystemet tar emot förfrågan (ServiceRequest med Consent, Patient, PractitionerRole och Organization) och en Task som ägs av vårdcentralen. Vårdcentralen uppdaterar Task (status och businessStatus) och lämnar utlåtandet som QuestionnaireResponse mot det nationella frågeformuläret. System som använder RIVTA via NTjP eller gatewayens webbinkorg omfattas inte av detta krav."
* jurisdiction = urn:iso:std:iso:3166#SE "Sweden"
* kind = #requirements
* fhirVersion = #4.0.1
* format[+] = #json
* rest[+].mode = #server
* rest[=].documentation = "Servern tar emot anrop från kv-gateway med ömsesidig TLS."
* rest[=].interaction[+].code = #transaction
* rest[=].interaction[=] insert Expect(SHALL)
* rest[=].resource[+].type = #ServiceRequest
* rest[=].resource[=] insert Expect(SHALL)
* rest[=].resource[=].supportedProfile[+] = Canonical(KvServiceRequest)
* rest[=].resource[=].interaction[+].code = #create
* rest[=].resource[=].interaction[+].code = #update
* rest[=].resource[=].interaction[+].code = #read
* rest[=].resource[+].type = #Consent
* rest[=].resource[=] insert Expect(SHALL)
* rest[=].resource[=].supportedProfile[+] = Canonical(KvConsent)
* rest[=].resource[=].interaction[+].code = #create
* rest[=].resource[=].interaction[+].code = #update
* rest[=].resource[=].interaction[+].code = #read
* rest[=].resource[+].type = #Patient
* rest[=].resource[=] insert Expect(SHALL)
* rest[=].resource[=].supportedProfile[+] = Canonical(KvPatient)
* rest[=].resource[=].interaction[+].code = #create
* rest[=].resource[=].interaction[+].code = #read
* rest[=].resource[+].type = #PractitionerRole
* rest[=].resource[=] insert Expect(SHALL)
* rest[=].resource[=].supportedProfile[+] = Canonical(KvSocialsekreterare)
* rest[=].resource[=].supportedProfile[+] = Canonical(KvRehabkoordinator)
* rest[=].resource[=].interaction[+].code = #create
* rest[=].resource[=].interaction[+].code = #read
* rest[=].resource[+].type = #Organization
* rest[=].resource[=] insert Expect(SHALL)
* rest[=].resource[=].supportedProfile[+] = Canonical(KvKommunOrganization)
* rest[=].resource[=].supportedProfile[+] = Canonical(KvVardcentralOrganization)
* rest[=].resource[=].interaction[+].code = #create
* rest[=].resource[=].interaction[+].code = #read
* rest[=].resource[+].type = #Task
* rest[=].resource[=] insert Expect(SHALL)
* rest[=].resource[=].supportedProfile[+] = Canonical(KvTask)
* rest[=].resource[=].interaction[+].code = #create
* rest[=].resource[=].interaction[+].code = #read
* rest[=].resource[=].interaction[+].code = #update
* rest[=].resource[=].documentation = "Vårdcentralen sätter status (received, accepted, rejected, in-progress, completed) och businessStatus. Avvisning kräver statusReason."
* rest[=].resource[+].type = #QuestionnaireResponse
* rest[=].resource[=] insert Expect(SHALL)
* rest[=].resource[=].supportedProfile[+] = Canonical(KvQuestionnaireResponse)
* rest[=].resource[=].interaction[+].code = #read
* rest[=].resource[=].interaction[+].code = #search-type
* rest[=].resource[=].searchParam[+].name = "based-on"
* rest[=].resource[=].searchParam[=].definition = "http://hl7.org/fhir/SearchParameter/QuestionnaireResponse-based-on"
* rest[=].resource[=].searchParam[=].type = #reference
* rest[=].resource[+].type = #Questionnaire
* rest[=].resource[=] insert Expect(SHOULD)
* rest[=].resource[=].interaction[+].code = #read
