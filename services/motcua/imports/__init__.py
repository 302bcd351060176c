"""Reading what a province already has (DVCQG sync payloads, dossier-list spreadsheets)
and turning it into contract events: readers yield the plain records of ``model``,
``convert`` makes events of them, ``pipeline.importing`` feeds those to the store."""
