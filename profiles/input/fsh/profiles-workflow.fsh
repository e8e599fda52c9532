// The work item between request and answer, and the answer itself.

Profile: KvTask
Parent: Task
Id: kv-task
Title: "Uppgift: besvara förfrågan"
Description: "Följer arbetet med en förfrågan från mottagande till utlåtande. Status motsvarar beställningsstatusarna OLÄST, LÄST, ACCEPTERAD, AVVISAD, RADERAD och KLAR. Arbetsstatus (businessStatus) visar vad vårdcentralen gör; en avvisning ska ha en anledning."
* insert KvConformanceMetadata
* obeys kv-task-1 and kv-task-2
* basedOn MS
* basedOn only Reference(KvServiceRequest)
* status MS
* status from KvTaskStatusVS (required)
* statusReason MS
* statusReason from KvRejectionReasonVS (extensible)
* statusReason ^short = "Anledning till avvisning"
* statusReason.extension contains KvRecordedBy named recordedBy 0..1 MS
* note MS
* note.extension contains KvRecordedBy named recordedBy 0..1 MS
* businessStatus MS
* businessStatus from KvTaskBusinessStatusVS (required)
* intent MS
* intent = #order
* code 1..1 MS
* code = KvRequestTypeCS#medicinskt-utlatande-aktivitetsformaga
* focus 1..1 MS
* focus only Reference(KvServiceRequest)
* for 1..1 MS
* for only Reference(KvPatient)
* authoredOn 1..1 MS
* lastModified MS
* requester MS
* requester only Reference(KvSocialsekreterare)
* owner 1..1 MS
* owner only Reference(KvVardcentralOrganization or KvRehabkoordinator)
* restriction MS
* restriction.period MS
* restriction.period ^short = "Önskat svarsdatum (period.end)"
* input ^slicing.discriminator.type = #pattern
* input ^slicing.discriminator.path = "type"
* input ^slicing.rules = #open
* input contains questionnaire 1..1 MS
* input[questionnaire].type = KvTaskParameterTypeCS#questionnaire
* input[questionnaire].value[x] only canonical
* input[questionnaire].valueCanonical = "https://kv-gateway.se/fhir/Questionnaire/medicinskt-utlatande-aktivitetsformaga|1.0.0"
* output ^slicing.discriminator.type = #pattern
* output ^slicing.discriminator.path = "type"
* output ^slicing.rules = #open
* output contains questionnaireResponse 0..1 MS
* output[questionnaireResponse].type = KvTaskParameterTypeCS#questionnaire-response
* output[questionnaireResponse].value[x] only Reference(KvQuestionnaireResponse)

Profile: KvQuestionnaireResponse
Parent: QuestionnaireResponse
Id: kv-questionnaireresponse
Title: "Medicinskt utlåtande om aktivitetsförmåga"
Description: "Vårdcentralens svar: ett ifyllt nationellt frågeformulär Medicinskt utlåtande till socialtjänsten – aktivitetsförmåga. Utlåtandet är inte ett sjukintyg."
* insert KvConformanceMetadata
* obeys kv-qr-1 and kv-qr-2
* questionnaire 1..1 MS
* questionnaire ^short = "https://kv-gateway.se/fhir/Questionnaire/medicinskt-utlatande-aktivitetsformaga (med eller utan |version)"
* basedOn 1..1 MS
* basedOn only Reference(KvServiceRequest)
* status MS
* status from KvQuestionnaireResponseStatusVS (required)
* subject 1..1 MS
* subject only Reference(KvPatient)
* authored 1..1 MS
* author 1..1 MS
* author only Reference(PractitionerRole)
* author ^short = "Den som besvarar (vilken profession som helst med tillräcklig kännedom)"
* item 1..* MS
