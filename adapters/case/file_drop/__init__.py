"""The file-drop case adapter: kommun case systems that only export and import files.

The case system drops one file per case into ``inbox/``; a mapping file (``mappings/``)
says how its format maps onto a request. The adapter is a kommun client of the gateway:
SMART Backend Services and the public FHIR API only (``$submit``, Task search, reads).
Modules: :mod:`.mapping` (the mapping file), :mod:`.vendor_records` (reading a file),
:mod:`.submission` (the Bundle), :mod:`.client` (the gateway API), :mod:`.writeback`
(files back to the case system), :mod:`.state` (the poll mark), :mod:`.runner` (the
folder protocol) and :mod:`.cli` (``kv-gateway-case-drop``).
"""
