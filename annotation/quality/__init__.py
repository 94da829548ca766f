"""Quality measures: pure cores (no ORM) for gold scoring and agreement."""
