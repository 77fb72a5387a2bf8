"""Item importers, one module per file format; `agreemint.services.itemfile` is the entry point."""
