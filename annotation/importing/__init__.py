"""Task import: parse files into Label Studio task items (parsers), then check and write them (annotation.services.imports)."""
