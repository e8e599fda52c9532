// Shared metadata for every conformance resource.

RuleSet: KvConformanceMetadata
* ^status = #draft
* ^experimental = false
* ^publisher = "kv-gateway"
* ^jurisdiction = urn:iso:std:iso:3166#SE "Sweden"
* ^version = "0.1.0"
* ^language = #sv

RuleSet: KvTerminologyMetadata
* insert KvConformanceMetadata

// A CodeSystem owned by kv-gateway: complete, case sensitive, Swedish displays.
RuleSet: KvCodeSystem
* insert KvTerminologyMetadata
* ^caseSensitive = true
* ^content = #complete

// ValueSet that contains every code of one kv-gateway CodeSystem.
RuleSet: KvValueSetAllOf(system)
* insert KvTerminologyMetadata
* include codes from system {system}

// An identifier slice fixed to one system whose value is required.
RuleSet: IdentifierSlice(slice, system, short)
* identifier[{slice}].system = "{system}"
* identifier[{slice}].system 1..1
* identifier[{slice}].value 1..1
* identifier[{slice}] ^short = "{short}"

RuleSet: SliceIdentifierBySystem
* identifier ^slicing.discriminator.type = #value
* identifier ^slicing.discriminator.path = "system"
* identifier ^slicing.rules = #open
* identifier ^slicing.ordered = false
* identifier ^slicing.description = "Identifierare delas upp efter system."
