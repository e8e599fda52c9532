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
* expression = "ServiceRequest.extension.where(url='https://kv-gateway.se/fhir/StructureDefinition/kv-planned-activity').extension.where(url='type').value"
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
* expression = "ServiceRequest.extension.where(url='https://kv-gateway.se/fhir/StructureDefinition/kv-mix-need-group').value"
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
* expression = "ServiceRequest.extension.where(url='https://kv-gateway.se/fhir/StructureDefinition/kv-desired-answer-date').value"
* xpathUsage = #normal
* comparator[+] = #eq
* comparator[+] = #lt
* comparator[+] = #le
* comparator[+] = #gt
* comparator[+] = #ge

Instance: kv-task-restriction-period
InstanceOf: SearchParameter
Usage: #definition
Title: "Sök uppgift på tidsram"
Description: "Söker Task på restriction.period, tiden då svaret önskas."
* url = "https://kv-gateway.se/fhir/SearchParameter/kv-task-restriction-period"
* language = #sv
* version = "0.1.0"
* name = "KvTaskRestrictionPeriod"
* status = #draft
* experimental = false
* publisher = "kv-gateway"
* description = "Söker uppgifter på tidsramen för svaret; försenade öppna uppgifter: restriction-period=lt<idag>."
* code = #restriction-period
* base = #Task
* type = #date
* expression = "Task.restriction.period"
* xpathUsage = #normal
* comparator[+] = #eq
* comparator[+] = #lt
* comparator[+] = #le
* comparator[+] = #gt
* comparator[+] = #ge

Instance: kv-task-due
InstanceOf: SearchParameter
Usage: #definition
Title: "Sök och sortera uppgift på önskat svarsdatum"
Description: "Söker och sorterar Task på slutet av restriction.period: dagen då svaret senast önskas."
* url = "https://kv-gateway.se/fhir/SearchParameter/kv-task-due"
* language = #sv
* version = "0.1.0"
* name = "KvTaskDue"
* status = #draft
* experimental = false
* publisher = "kv-gateway"
* description = "Söker och sorterar uppgifter på önskat svarsdatum (restriction.period.end); inkorgen sorterar med _sort=due."
* code = #due
* base = #Task
* type = #date
* expression = "Task.restriction.period.end"
* xpathUsage = #normal
* comparator[+] = #eq
* comparator[+] = #lt
* comparator[+] = #le
* comparator[+] = #gt
* comparator[+] = #ge
