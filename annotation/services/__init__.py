"""Writes for the annotation app: the only code that changes projects, tasks and annotations."""
