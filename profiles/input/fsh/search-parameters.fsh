// SearchParameters for the extensions that the gateway searches on.

Instance: kv-servicerequest-planned-activity-type
InstanceOf: SearchParameter
Usage: #definition
Title: "Sök förfrågan på typ av planerad aktivitet"
Description: "Söker ServiceRequest på typen i tillägget Planerad aktivitet."
* url = "https://kv-gateway.se/fhir/SearchParameter/kv-servicerequest-planned-activity-type"
* language = #sv
* version = "0.1.0"
* name = "KvServiceRequestPlannedActivityType"
* status = #draft
* experimental = false
* publisher = "kv-gateway"
* description = "Söker förfrågningar på typ av planerad aktivitet (praktik, arbetsträning, SFI …)."
* code = #planned-activity-type
* base = #ServiceRequest
* type = #token
* expression = "ServiceRequest.extension('https://kv-gateway.se/fhir/StructureDefinition/kv-planned-activity').extension('type').value"
* xpathUsage = #normal

Instance: kv-servicerequest-mix-need-group
InstanceOf: SearchParameter
Usage: #definition
Title: "Sök förfrågan på behovsgrupp enligt MIX"
Description: "Söker ServiceRequest på tillägget Behovsgrupp enligt MIX."
* url = "https://kv-gateway.se/fhir/SearchParameter/kv-servicerequest-mix-need-group"
* language = #sv
* version = "0.1.0"
* name = "KvServiceRequestMixNeedGroup"
* status = #draft
* experimental = false
* publisher = "kv-gateway"
* description = "Söker förfrågningar på behovsgrupp (AM1–AM3, RH1–RH3)."
* code = #mix-need-group
* base = #ServiceRequest
* type = #token
* expression = "ServiceRequest.extension('https://kv-gateway.se/fhir/StructureDefinition/kv-mix-need-group').value"
* xpathUsage = #normal

Instance: kv-servicerequest-desired-answer-date
InstanceOf: SearchParameter
Usage: #definition
Title: "Sök förfrågan på önskat svarsdatum"
Description: "Söker ServiceRequest på tillägget Önskat svarsdatum."
* url = "https://kv-gateway.se/fhir/SearchParameter/kv-servicerequest-desired-answer-date"
* language = #sv
* version = "0.1.0"
* name = "KvServiceRequestDesiredAnswerDate"
* status = #draft
* experimental = false
* publisher = "kv-gateway"
* description = "Söker förfrågningar på önskat svarsdatum."
* code = #desired-answer-date
* base = #ServiceRequest
* type = #date
* expression = "ServiceRequest.extension('https://kv-gateway.se/fhir/StructureDefinition/kv-desired-answer-date').value"
* xpathUsage = #normal
* comparator[+] = #eq
* comparator[+] = #lt
* comparator[+] = #le
* comparator[+] = #gt
* comparator[+] = #ge
