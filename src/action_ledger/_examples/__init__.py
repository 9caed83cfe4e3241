"""The example register shipped with the package: three real West Mercia meetings
(``action-ledger demo``)."""
