// The national Questionnaire. linkIds follow AF00213 (1.1 … 5.1) where an item exists
// there; the kommun model's additions use linkIds that start with "kv.".
// Only core elements and extensions from the R4 core package are used
// (questionnaire-itemControl for help texts, minValue/maxValue for the hours).
// There is no sick-leave item: the answer is never a sjukskrivning.

RuleSet: HelpText(text)
* type = #display
* text = "{text}"
* extension[$questionnaire-itemControl].valueCodeableConcept = $itemControl#help "Help-Button"

Instance: medicinskt-utlatande-aktivitetsformaga
InstanceOf: Questionnaire
Usage: #definition
Title: "Medicinskt utlåtande till socialtjänsten – aktivitetsförmåga"
Description: "Nationellt frågeformulär för vårdcentralens utlåtande om en persons aktivitetsförmåga i förhållande till de aktiviteter som socialtjänsten planerar. Bygger på Arbetsförmedlingens AF00213, förenklat och kompletterat för kommunerna. Utlåtandet är inte ett sjukintyg."
* url = "https://kv-gateway.se/fhir/Questionnaire/medicinskt-utlatande-aktivitetsformaga"
* version = "1.0.0"
* name = "MedicinsktUtlatandeAktivitetsformaga"
* title = "Medicinskt utlåtande till socialtjänsten – aktivitetsförmåga"
* status = #active
* experimental = false
* date = "2025-11-22"
* publisher = "kv-gateway"
* language = #sv
* jurisdiction = urn:iso:std:iso:3166#SE "Sweden"
* description = "Nationellt frågeformulär för vårdcentralens utlåtande om en persons aktivitetsförmåga i förhållande till de aktiviteter som socialtjänsten planerar. Bygger på Arbetsförmedlingens AF00213, förenklat och kompletterat för kommunerna. Alla professioner med tillräcklig kännedom om personen får besvara det. Utlåtandet är inte ett sjukintyg."
* purpose = "Ge socialtjänsten underlag för att planera aktiviteter enligt SoL 4 kap. 4 §: vad personen kan göra, vilka begränsningar, anpassningar och risker som finns och vilken prognos som gäller."
* subjectType = #Patient

// ---------------------------------------------------------------- disclaimer
* item[+].linkId = "inte-sjukintyg"
* item[=].type = #display
* item[=].text = "Detta utlåtande är inte ett sjukintyg. Det beskriver personens förmågor, resurser och begränsningar i förhållande till de aktiviteter som socialtjänsten har beskrivit i förfrågan."

// ---------------------------------------------------------------- basis
* item[+].linkId = "kv.underlag"
* item[=].type = #group
* item[=].text = "Underlag för utlåtandet"
* item[=].required = true
* item[=].item[+].linkId = "kv.underlag.typ"
* item[=].item[=].type = #choice
* item[=].item[=].text = "Vad grundar sig utlåtandet på?"
* item[=].item[=].required = true
* item[=].item[=].repeats = true
* item[=].item[=].answerValueSet = Canonical(KvAnswerBasisVS)
* item[=].item[+].linkId = "kv.underlag.annat"
* item[=].item[=].type = #text
* item[=].item[=].text = "Beskriv annat underlag"
* item[=].item[=].required = true
* item[=].item[=].enableWhen[+].question = "kv.underlag.typ"
* item[=].item[=].enableWhen[=].operator = #=
* item[=].item[=].enableWhen[=].answerCoding = KvAnswerBasisCS#annat "Annat"
* item[=].item[+].linkId = "kv.underlag.datum"
* item[=].item[=].type = #date
* item[=].item[=].text = "Datum för bedömningen"
* item[=].item[=].required = true
* item[=].item[+].linkId = "kv.underlag.profession"
* item[=].item[=].type = #choice
* item[=].item[=].text = "Vilken profession besvarar förfrågan?"
* item[=].item[=].required = true
* item[=].item[=].answerValueSet = Canonical(KvAnsweringProfessionVS)

// ---------------------------------------------------------------- AF00213 1
* item[+].linkId = "1"
* item[=].type = #group
* item[=].text = "Funktionsnedsättning"
* item[=].required = true
* item[=].item[+].linkId = "1.1"
* item[=].item[=].type = #boolean
* item[=].item[=].text = "Har personen någon funktionsnedsättning?"
* item[=].item[=].required = true
* item[=].item[=].item[+].linkId = "1.1.hjalp"
* item[=].item[=].item[=] insert HelpText(Funktionsnedsättning är en nedsättning av fysisk\, psykisk eller intellektuell funktion. Beskriv hur nedsättningen visar sig och hur den har bedömts\, inte bara diagnosen.)
* item[=].item[+].linkId = "1.2"
* item[=].item[=].type = #text
* item[=].item[=].text = "Beskriv funktionsnedsättningen och hur den har bedömts"
* item[=].item[=].required = true
* item[=].item[=].enableWhen[+].question = "1.1"
* item[=].item[=].enableWhen[=].operator = #=
* item[=].item[=].enableWhen[=].answerBoolean = true

// ---------------------------------------------------------------- AF00213 2
* item[+].linkId = "2"
* item[=].type = #group
* item[=].text = "Aktivitetsbegränsning"
* item[=].required = true
* item[=].item[+].linkId = "2.1"
* item[=].item[=].type = #boolean
* item[=].item[=].text = "Har personen någon aktivitetsbegränsning i förhållande till de planerade aktiviteterna?"
* item[=].item[=].required = true
* item[=].item[=].item[+].linkId = "2.1.hjalp"
* item[=].item[=].item[=] insert HelpText(Beskriv hur funktionsnedsättningen begränsar personen i just de aktiviteter som förfrågan gäller. Kedjan diagnos – funktionsnedsättning – aktivitetsbegränsning ska hänga ihop.)
* item[=].item[+].linkId = "2.2"
* item[=].item[=].type = #text
* item[=].item[=].text = "Beskriv aktivitetsbegränsningen i förhållande till de planerade aktiviteterna"
* item[=].item[=].required = true
* item[=].item[=].enableWhen[+].question = "2.1"
* item[=].item[=].enableWhen[=].operator = #=
* item[=].item[=].enableWhen[=].answerBoolean = true

// ---------------------------------------------------------------- AF00213 3
* item[+].linkId = "3"
* item[=].type = #group
* item[=].text = "Pågående eller planerad utredning eller behandling"
* item[=].required = true
* item[=].item[+].linkId = "3.1"
* item[=].item[=].type = #boolean
* item[=].item[=].text = "Pågår eller planeras utredning eller behandling som påverkar planeringen av aktiviteterna?"
* item[=].item[=].required = true
* item[=].item[+].linkId = "3.2"
* item[=].item[=].type = #text
* item[=].item[=].text = "Beskriv utredningen eller behandlingen och hur den påverkar planeringen"
* item[=].item[=].required = true
* item[=].item[=].enableWhen[+].question = "3.1"
* item[=].item[=].enableWhen[=].operator = #=
* item[=].item[=].enableWhen[=].answerBoolean = true
* item[=].item[+].linkId = "3.2.slutdatum"
* item[=].item[=].type = #date
* item[=].item[=].text = "När beräknas utredningen eller behandlingen vara avslutad?"
* item[=].item[=].required = false
* item[=].item[=].enableWhen[+].question = "3.1"
* item[=].item[=].enableWhen[=].operator = #=
* item[=].item[=].enableWhen[=].answerBoolean = true

// ---------------------------------------------------------------- AF00213 4
* item[+].linkId = "4"
* item[=].type = #group
* item[=].text = "Aktiviteter som kan försämra tillståndet"
* item[=].required = true
* item[=].item[+].linkId = "4.1"
* item[=].item[=].type = #boolean
* item[=].item[=].text = "Finns det aktiviteter eller arbetsuppgifter som kan försämra personens tillstånd?"
* item[=].item[=].required = true
* item[=].item[=].item[+].linkId = "4.1.hjalp"
* item[=].item[=].item[=] insert HelpText(Till exempel arbete med armarna ovanför axelhöjd\, tunga lyft\, långvarigt stående eller arbete i högt tempo.)
* item[=].item[+].linkId = "4.2"
* item[=].item[=].type = #text
* item[=].item[=].text = "Beskriv vilka aktiviteter eller arbetsuppgifter som kan försämra tillståndet"
* item[=].item[=].required = true
* item[=].item[=].enableWhen[+].question = "4.1"
* item[=].item[=].enableWhen[=].operator = #=
* item[=].item[=].enableWhen[=].answerBoolean = true

// ---------------------------------------------------------------- kommun: resources
* item[+].linkId = "kv.resurser"
* item[=].type = #group
* item[=].text = "Förmågor och resurser"
* item[=].required = true
* item[=].item[+].linkId = "kv.resurser.fungerar"
* item[=].item[=].type = #text
* item[=].item[=].text = "Vad fungerar för personen trots eventuella begränsningar? Vilka förmågor och resurser finns?"
* item[=].item[=].required = true
* item[=].item[+].linkId = "kv.resurser.starkas"
* item[=].item[=].type = #text
* item[=].item[=].text = "Vad behöver stärkas för att personen ska kunna delta i aktiviteterna?"
* item[=].item[=].required = false

// ---------------------------------------------------------------- kommun: adaptations
* item[+].linkId = "kv.anpassning"
* item[=].type = #group
* item[=].text = "Anpassningar"
* item[=].required = true
* item[=].item[+].linkId = "kv.anpassning.behov"
* item[=].item[=].type = #boolean
* item[=].item[=].text = "Behöver aktiviteterna anpassas för att personen ska kunna delta?"
* item[=].item[=].required = true
* item[=].item[+].linkId = "kv.anpassning.beskrivning"
* item[=].item[=].type = #text
* item[=].item[=].text = "Beskriv vilka anpassningar som behövs"
* item[=].item[=].required = true
* item[=].item[=].enableWhen[+].question = "kv.anpassning.behov"
* item[=].item[=].enableWhen[=].operator = #=
* item[=].item[=].enableWhen[=].answerBoolean = true

// ---------------------------------------------------------------- kommun: extent
* item[+].linkId = "kv.omfattning"
* item[=].type = #group
* item[=].text = "Omfattning av deltagande"
* item[=].required = true
* item[=].item[+].linkId = "kv.omfattning.kan-delta"
* item[=].item[=].type = #boolean
* item[=].item[=].text = "Kan personen i nuläget delta i de planerade aktiviteterna?"
* item[=].item[=].required = true
* item[=].item[+].linkId = "kv.omfattning.timmar"
* item[=].item[=].type = #integer
* item[=].item[=].text = "Hur många timmar per vecka kan personen delta?"
* item[=].item[=].required = true
* item[=].item[=].extension[$minValue].valueInteger = 1
* item[=].item[=].extension[$maxValue].valueInteger = 40
* item[=].item[=].enableWhen[+].question = "kv.omfattning.kan-delta"
* item[=].item[=].enableWhen[=].operator = #=
* item[=].item[=].enableWhen[=].answerBoolean = true
* item[=].item[=].item[+].linkId = "kv.omfattning.timmar.hjalp"
* item[=].item[=].item[=] insert HelpText(Ange ett heltal mellan 1 och 40 timmar per vecka.)
* item[=].item[+].linkId = "kv.omfattning.skal"
* item[=].item[=].type = #text
* item[=].item[=].text = "Ange skälet till att personen inte kan delta i nuläget"
* item[=].item[=].required = true
* item[=].item[=].enableWhen[+].question = "kv.omfattning.kan-delta"
* item[=].item[=].enableWhen[=].operator = #=
* item[=].item[=].enableWhen[=].answerBoolean = false

// ---------------------------------------------------------------- kommun: prognosis
* item[+].linkId = "kv.prognos"
* item[=].type = #group
* item[=].text = "Prognos"
* item[=].required = true
* item[=].item[+].linkId = "kv.prognos.bedomning"
* item[=].item[=].type = #text
* item[=].item[=].text = "Bedömning av prognos"
* item[=].item[=].required = true
* item[=].item[=].item[+].linkId = "kv.prognos.bedomning.hjalp"
* item[=].item[=].item[=] insert HelpText(Om prognosen inte kan bedömas\, ange varför.)

// ---------------------------------------------------------------- kommun: plan
* item[+].linkId = "kv.plan"
* item[=].type = #group
* item[=].text = "Rehabiliterings- eller vårdplan"
* item[=].required = true
* item[=].item[+].linkId = "kv.plan.finns"
* item[=].item[=].type = #boolean
* item[=].item[=].text = "Finns det en rehabiliterings- eller vårdplan?"
* item[=].item[=].required = true
* item[=].item[+].linkId = "kv.plan.beskrivning"
* item[=].item[=].type = #text
* item[=].item[=].text = "Beskriv planen"
* item[=].item[=].required = true
* item[=].item[=].enableWhen[+].question = "kv.plan.finns"
* item[=].item[=].enableWhen[=].operator = #=
* item[=].item[=].enableWhen[=].answerBoolean = true

// ---------------------------------------------------------------- kommun: follow-up
* item[+].linkId = "kv.uppfoljning"
* item[=].type = #group
* item[=].text = "Fortsatt samverkan"
* item[=].required = true
* item[=].item[+].linkId = "kv.uppfoljning.rekommendation"
* item[=].item[=].type = #choice
* item[=].item[=].text = "Rekommenderas avstämningsmöte eller samordnad individuell plan (SIP)?"
* item[=].item[=].required = true
* item[=].item[=].answerValueSet = Canonical(KvFollowUpVS)
* item[=].item[+].linkId = "kv.uppfoljning.kommentar"
* item[=].item[=].type = #text
* item[=].item[=].text = "Kommentar om fortsatt samverkan"
* item[=].item[=].required = false

// ---------------------------------------------------------------- AF00213 5
* item[+].linkId = "5"
* item[=].type = #group
* item[=].text = "Övrigt"
* item[=].item[+].linkId = "5.1"
* item[=].item[=].type = #text
* item[=].item[=].text = "Övrigt som socialtjänsten eller Arbetsförmedlingen behöver ta hänsyn till"
* item[=].item[=].required = false

// ---------------------------------------------------------------- kommun: contact
* item[+].linkId = "kv.kontakt"
* item[=].type = #group
* item[=].text = "Kontaktperson för direkt kontakt"
* item[=].required = true
* item[=].item[+].linkId = "kv.kontakt.namn"
* item[=].item[=].type = #string
* item[=].item[=].text = "Namn (till exempel rehabkoordinatorn)"
* item[=].item[=].required = true
* item[=].item[+].linkId = "kv.kontakt.telefon"
* item[=].item[=].type = #string
* item[=].item[=].text = "Telefonnummer"
* item[=].item[=].required = true
