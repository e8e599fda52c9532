// CodeSystems and ValueSets owned by kv-gateway. Displays are Swedish.

// ---------------------------------------------------------------- request
CodeSystem: KvRequestTypeCS
Id: kv-request-type
Title: "Typ av förfrågan"
Description: "Kod och kategori för kommunens förfrågan om medicinskt utlåtande."
* insert KvCodeSystem
* #medicinskt-utlatande-aktivitetsformaga "Medicinskt utlåtande om aktivitetsförmåga" "Begäran om ett medicinskt utlåtande om personens aktivitetsförmåga i förhållande till planerade aktiviteter."
* #samverkan-socialtjanst-vard "Samverkan mellan socialtjänst och hälso- och sjukvård" "Kategori för förfrågningar från kommunens socialtjänst till hälso- och sjukvården."

ValueSet: KvRequestTypeVS
Id: kv-request-type
Title: "Typ av förfrågan"
Description: "Alla koder för typ och kategori av förfrågan."
* insert KvValueSetAllOf(KvRequestTypeCS)

CodeSystem: KvRequestReasonCS
Id: kv-request-reason
Title: "Anledning till förfrågan"
Description: "Varför socialtjänsten ställer frågan om aktivitetsförmåga."
* insert KvCodeSystem
* #ohalsa-uppgiven "Personen uppger att ohälsa hindrar deltagande" "Personen uppger att hen inte kan delta i planerade aktiviteter på grund av ohälsa."
* #medicinskt-underlag-inkommit "Medicinskt underlag har kommit in" "Medicinska handlingar har kommit in till socialtjänsten och behöver förtydligas."
* #vard-begart-samverkan "Vården har begärt samverkan" "Hälso- och sjukvården har begärt samverkan med socialtjänsten."
* #socialtjansten-uppmarksammat "Socialtjänsten har uppmärksammat hälsoproblem" "Socialtjänsten har själv uppmärksammat tecken på hälsoproblem."
* #annan-part-rapporterat "Annan part har rapporterat begränsningar" "En annan aktör (till exempel Arbetsförmedlingen eller en praktikplats) har rapporterat begränsningar."
* #annat "Annan anledning" "Annan anledning, beskrivs i fritext."

ValueSet: KvRequestReasonVS
Id: kv-request-reason
Title: "Anledning till förfrågan"
Description: "Tillåtna anledningar till en förfrågan om medicinskt utlåtande."
* insert KvValueSetAllOf(KvRequestReasonCS)

CodeSystem: KvPlannedActivityTypeCS
Id: kv-planned-activity-type
Title: "Typ av planerad aktivitet"
Description: "Aktiviteter som personen förväntas delta i inom ramen för aktivitetskravet (SoL 4 kap. 4 §)."
* insert KvCodeSystem
* #praktik "Praktik" "Praktik på en arbetsplats."
* #arbetstraning "Arbetsträning" "Arbetsträning."
* #sfi "SFI" "Svenska för invandrare."
* #studier "Studier" "Studier, till exempel inom kommunal vuxenutbildning."
* #ama-insats "AMA-insats" "Insats vid kommunens arbetsmarknadsenhet (AMA/AME)."
* #jobbsokaktivitet "Jobbsökaktivitet" "Aktivt jobbsökande eller jobbsökarverksamhet."
* #annan-kompetenshojande "Annan kompetenshöjande verksamhet" "Annan kompetenshöjande verksamhet."

ValueSet: KvPlannedActivityTypeVS
Id: kv-planned-activity-type
Title: "Typ av planerad aktivitet"
Description: "Tillåtna typer av planerade aktiviteter."
* insert KvValueSetAllOf(KvPlannedActivityTypeCS)

CodeSystem: KvMixNeedGroupCS
Id: kv-mix-need-group
Title: "Behovsgrupp enligt MIX"
Description: "Behovsgrupper för arbetsmarknadsinriktade (AM) och rehabiliteringsinriktade (RH) insatser enligt MIX-modellen. Nivå 1 står närmast arbete eller studier."
* insert KvCodeSystem
* #AM1 "AM1 – arbetsmarknadsinriktat behov, nivå 1" "Arbetsmarknadsinriktat behov; står nära arbete eller studier."
* #AM2 "AM2 – arbetsmarknadsinriktat behov, nivå 2" "Arbetsmarknadsinriktat behov; behöver stöd för att nå arbete eller studier."
* #AM3 "AM3 – arbetsmarknadsinriktat behov, nivå 3" "Arbetsmarknadsinriktat behov; behöver omfattande stöd för att nå arbete eller studier."
* #RH1 "RH1 – rehabiliteringsinriktat behov, nivå 1" "Rehabiliteringsinriktat behov; begränsat behov av rehabiliterande insatser."
* #RH2 "RH2 – rehabiliteringsinriktat behov, nivå 2" "Rehabiliteringsinriktat behov; behöver rehabiliterande insatser."
* #RH3 "RH3 – rehabiliteringsinriktat behov, nivå 3" "Rehabiliteringsinriktat behov; behöver omfattande rehabiliterande insatser."

ValueSet: KvMixNeedGroupVS
Id: kv-mix-need-group
Title: "Behovsgrupp enligt MIX"
Description: "Tillåtna behovsgrupper (AM1–AM3, RH1–RH3)."
* insert KvValueSetAllOf(KvMixNeedGroupCS)

CodeSystem: KvOtherContactTypeCS
Id: kv-other-contact-type
Title: "Typ av annan kontakt"
Description: "Andra aktörer som personen har kontakt med."
* insert KvCodeSystem
* #af "Arbetsförmedlingen" "Arbetsförmedlingen."
* #fk "Försäkringskassan" "Försäkringskassan."
* #ama "Arbetsmarknadsenhet (AMA/AME)" "Kommunens arbetsmarknadsenhet."
* #psykiatri "Psykiatrin" "Psykiatrisk öppen- eller slutenvård."
* #boendestod "Boendestöd" "Boendestöd."
* #beroendevard "Beroendevård" "Beroende- eller missbruksvård."
* #habilitering "Habilitering" "Habilitering."
* #annan-vardgivare "Annan vårdgivare" "Annan vårdgivare än vårdcentralen."
* #annan "Annan kontakt" "Annan kontakt, beskrivs i fritext."

ValueSet: KvOtherContactTypeVS
Id: kv-other-contact-type
Title: "Typ av annan kontakt"
Description: "Tillåtna typer av andra kontakter."
* insert KvValueSetAllOf(KvOtherContactTypeCS)

CodeSystem: KvIdentifierTypeCS
Id: kv-identifier-type
Title: "Typ av identifierare"
Description: "Typer av identifierare som kv-gateway använder utöver de nationella."
* insert KvCodeSystem
* #kommun-arende "Kommunens ärende-id" "Ärendets identitet i kommunens verksamhetssystem."
* #verksamhetssystem-anvandare "Användar-id i verksamhetssystem" "Användarens identitet i kommunens verksamhetssystem."

// ---------------------------------------------------------------- consent
CodeSystem: KvConsentMethodCS
Id: kv-consent-method
Title: "Form för samtycke"
Description: "Hur personen har lämnat sitt samtycke."
* insert KvCodeSystem
* #skriftligt "Skriftligt samtycke" "Personen har undertecknat en blankett (samtycke att häva sekretess). Blanketten bifogas eller refereras."
* #muntligt "Muntligt samtycke" "Personen har lämnat samtycke muntligt. Vem, när och vad dokumenteras i verksamhetssystemet."

ValueSet: KvConsentMethodVS
Id: kv-consent-method
Title: "Form för samtycke"
Description: "Tillåtna former för samtycke."
* insert KvValueSetAllOf(KvConsentMethodCS)

ValueSet: KvConsentActorRoleVS
Id: kv-consent-actor-role
Title: "Roll för part i samtycket"
Description: "Roller för parterna i samtycket: vårdcentralen som lämnar ut uppgifter och kommunen som tar emot dem."
* insert KvTerminologyMetadata
* $v3-ParticipationType#CST "custodian"
* $v3-ParticipationType#IRCP "information recipient"

// ---------------------------------------------------------------- answer
CodeSystem: KvAnswerBasisCS
Id: kv-answer-basis
Title: "Underlag för utlåtandet"
Description: "Vad utlåtandet grundar sig på."
* insert KvCodeSystem
* #journalgranskning "Journalgranskning" "Uppgifter från patientjournalen."
* #besok "Besök" "Personen har besökt vårdcentralen."
* #telefonkontakt "Telefonkontakt" "Kontakt med personen per telefon."
* #annat "Annat" "Annat underlag, beskrivs i fritext."

ValueSet: KvAnswerBasisVS
Id: kv-answer-basis
Title: "Underlag för utlåtandet"
Description: "Tillåtna underlag för utlåtandet."
* insert KvValueSetAllOf(KvAnswerBasisCS)

CodeSystem: KvAnsweringProfessionCS
Id: kv-answering-profession
Title: "Profession som besvarar"
Description: "Den profession som besvarar förfrågan. Alla professioner med tillräcklig kännedom om personen får svara."
* insert KvCodeSystem
* #lakare "Läkare" "Läkare."
* #sjukskoterska "Sjuksköterska" "Sjuksköterska."
* #fysioterapeut "Fysioterapeut" "Fysioterapeut."
* #arbetsterapeut "Arbetsterapeut" "Arbetsterapeut."
* #psykolog "Psykolog" "Psykolog."
* #kurator "Kurator" "Kurator."
* #psykoterapeut "Psykoterapeut" "Psykoterapeut."
* #rehabkoordinator "Rehabkoordinator" "Rehabkoordinator."
* #annan "Annan profession" "Annan legitimerad eller yrkesverksam profession."

ValueSet: KvAnsweringProfessionVS
Id: kv-answering-profession
Title: "Profession som besvarar"
Description: "Tillåtna professioner för den som besvarar."
* insert KvValueSetAllOf(KvAnsweringProfessionCS)

CodeSystem: KvFollowUpCS
Id: kv-follow-up
Title: "Rekommenderad uppföljning"
Description: "Rekommenderad form för fortsatt samverkan."
* insert KvCodeSystem
* #ingen "Ingen uppföljning behövs" "Ingen särskild uppföljning rekommenderas."
* #skriftliga-fragor "Skriftliga följdfrågor" "Eventuella frågor ställs skriftligt via rehabkoordinatorn."
* #avstamningsmote "Avstämningsmöte" "Avstämningsmöte med kommun, vård och personen."
* #sip "SIP" "Samordnad individuell plan (SoL 2 kap. 7 §, HSL 16 kap. 4 §)."

ValueSet: KvFollowUpVS
Id: kv-follow-up
Title: "Rekommenderad uppföljning"
Description: "Tillåtna rekommendationer om uppföljning."
* insert KvValueSetAllOf(KvFollowUpCS)

// ---------------------------------------------------------------- task
CodeSystem: KvRejectionReasonCS
Id: kv-rejection-reason
Title: "Anledning till avvisning"
Description: "Varför vårdcentralen avvisar en förfrågan."
* insert KvCodeSystem
* #ej-listad "Personen är inte listad på enheten" "Personen är inte listad på den mottagande vårdcentralen."
* #samtycke-otillrackligt "Samtycket är otillräckligt" "Samtycket saknas, omfattar inte utlämnandet eller har återkallats."
* #fel-enhet "Fel mottagande enhet" "Förfrågan har kommit till fel enhet."
* #dubblett "Dubblett" "Förfrågan är en dubblett av en tidigare förfrågan."
* #annat "Annan anledning" "Annan anledning, beskrivs i fritext."

ValueSet: KvRejectionReasonVS
Id: kv-rejection-reason
Title: "Anledning till avvisning"
Description: "Tillåtna anledningar till avvisning."
* insert KvValueSetAllOf(KvRejectionReasonCS)

CodeSystem: KvGatewayTaskReasonCS
Id: kv-gateway-task-reason
Title: "Tjänstens anledning"
Description: "Varför kv-gateway själv har avslutat eller avbrutit en förfrågan (Task.statusReason), så att ett system kan skilja anledningarna åt utan att läsa texten."
* insert KvCodeSystem
* #ej-levererad "Kunde inte levereras" "Förfrågan kunde inte levereras till vårdcentralen; leveransen gav upp."
* #samtycke-vid-utskick "Samtycket räckte inte vid utskick" "Förfrågan skickades inte: samtycket omfattade inte utlämnandet när den skulle gå ut."
* #samtycke-aterkallat "Samtycket återkallat" "Personen har återkallat sitt samtycke; förfrågan är avbruten."

CodeSystem: KvTaskBusinessStatusCS
Id: kv-task-business-status
Title: "Arbetsstatus för förfrågan"
Description: "Vårdcentralens arbetsstatus för förfrågan (Task.businessStatus). Socialsekreteraren informeras vid varje ändring."
* insert KvCodeSystem
* #mottagen-av-rehabkoordinator "Mottagen av rehabkoordinator" "Rehabkoordinatorn har tagit emot förfrågan."
* #journalgranskning-pagar "Journalgranskning pågår" "Svaret tas fram genom journalgranskning eller från behandlande profession."
* #vidarebefordrad-till-profession "Vidarebefordrad till profession" "Frågan har skickats vidare till den profession som har bäst kännedom om personen."
* #besok-bokat "Besök bokat" "Underlaget räcker inte; ett besök har bokats."
* #vantar-pa-komplettering "Väntar på komplettering" "Vårdcentralen väntar på komplettering från kommunen."
* #avstamningsmote-planerat "Avstämningsmöte planerat" "Ett avstämningsmöte med kommun, vård och personen är planerat."
* #utlatande-skickat "Utlåtande skickat" "Utlåtandet är klart och skickat."

ValueSet: KvTaskBusinessStatusVS
Id: kv-task-business-status
Title: "Arbetsstatus för förfrågan"
Description: "Tillåtna arbetsstatusar."
* insert KvValueSetAllOf(KvTaskBusinessStatusCS)

CodeSystem: KvTaskParameterTypeCS
Id: kv-task-parameter-type
Title: "Typ av indata och utdata för uppgiften"
Description: "Typer för Task.input och Task.output."
* insert KvCodeSystem
* #questionnaire "Frågeformulär" "Frågeformuläret som ska besvaras."
* #questionnaire-response "Utlåtande" "Det ifyllda utlåtandet."

ValueSet: KvTaskStatusVS
Id: kv-task-status
Title: "Status för uppgiften"
Description: "Tillåtna värden för Task.status. Motsvarar beställningsstatusarna OLÄST (requested), LÄST (received), ACCEPTERAD (accepted, in-progress), AVVISAD (rejected), RADERAD (cancelled) och KLAR (completed)."
* insert KvTerminologyMetadata
* http://hl7.org/fhir/task-status#requested "Requested"
* http://hl7.org/fhir/task-status#received "Received"
* http://hl7.org/fhir/task-status#accepted "Accepted"
* http://hl7.org/fhir/task-status#rejected "Rejected"
* http://hl7.org/fhir/task-status#in-progress "In Progress"
* http://hl7.org/fhir/task-status#on-hold "On Hold"
* http://hl7.org/fhir/task-status#cancelled "Cancelled"
* http://hl7.org/fhir/task-status#completed "Completed"

ValueSet: KvServiceRequestStatusVS
Id: kv-servicerequest-status
Title: "Status för förfrågan"
Description: "Tillåtna värden för ServiceRequest.status när förfrågan skickas och hanteras."
* insert KvTerminologyMetadata
* http://hl7.org/fhir/request-status#active "Active"
* http://hl7.org/fhir/request-status#on-hold "On Hold"
* http://hl7.org/fhir/request-status#revoked "Revoked"
* http://hl7.org/fhir/request-status#completed "Completed"
* http://hl7.org/fhir/request-status#entered-in-error "Entered in Error"

ValueSet: KvQuestionnaireResponseStatusVS
Id: kv-questionnaireresponse-status
Title: "Status för utlåtandet"
Description: "Tillåtna värden för QuestionnaireResponse.status när utlåtandet skickas."
* insert KvTerminologyMetadata
* http://hl7.org/fhir/questionnaire-answers-status#completed "Completed"
* http://hl7.org/fhir/questionnaire-answers-status#amended "Amended"
* http://hl7.org/fhir/questionnaire-answers-status#entered-in-error "Entered in Error"

// ---------------------------------------------------------------- actors
CodeSystem: KvOrganizationTypeCS
Id: kv-organization-type
Title: "Typ av organisation"
Description: "Organisationstyper som används i kv-gateway."
* insert KvCodeSystem
* #kommun-socialtjanst "Kommunens socialtjänst" "Socialtjänsten i en kommun (till exempel ekonomiskt bistånd)."
* #vardcentral "Vårdcentral" "Vårdcentral eller hälsocentral i primärvården."
* #region "Region" "Region (sjukvårdshuvudman) som vårdcentralerna i länet hör till."

CodeSystem: KvPractitionerRoleCS
Id: kv-practitioner-role
Title: "Funktion"
Description: "Funktioner för personal som används i kv-gateway."
* insert KvCodeSystem
* #socialsekreterare "Socialsekreterare" "Handläggare inom socialtjänsten."
* #rehabkoordinator "Rehabkoordinator" "Rehabkoordinator på vårdcentralen."

ValueSet: KvProtectedIdentityVS
Id: kv-protected-identity
Title: "Skyddad identitet"
Description: "Säkerhetsmärkningar för personer med skyddad identitet, med samma koder som HL7 Sveriges basprofiler. Adress och kontaktuppgifter för dessa personer lämnas aldrig ut."
* insert KvTerminologyMetadata
* $seSecurityLabel#sekretessmarkering "Sekretessmarkering"
* $seSecurityLabel#skyddadFolkbokforing "Skyddad folkbokföring"

CodeSystem: KvEndpointConnectionTypeCS
Id: kv-endpoint-connection-type
Title: "Anslutningstyp"
Description: "Hur gatewayen levererar till ett journalsystem eller en inkorg. Styr vilken adapter som används."
* insert KvCodeSystem
* #fhir-rest "FHIR REST" "Leverans med FHIR REST (R4) direkt till journalsystemet."
* #rivta "RIVTA via NTjP" "Leverans med RIVTA-tjänstekontrakt via den nationella tjänsteplattformen; adressen är den logiska adressen (HSA-id)."
* #inbox "Webbinkorg" "Leverans till gatewayens webbinkorg för rehabkoordinatorn."

ValueSet: KvEndpointConnectionTypeVS
Id: kv-endpoint-connection-type
Title: "Anslutningstyp"
Description: "Tillåtna anslutningstyper för katalogens Endpoint."
* insert KvValueSetAllOf(KvEndpointConnectionTypeCS)
