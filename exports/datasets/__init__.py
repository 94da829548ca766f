"""Dataset versions: immutable, reproducible snapshots of a project's curated annotations."""
