"""Quality measures, pure cores (no ORM): agreement, consensus and gold scoring.
``annotation/services/quality.py`` and ``annotation/services/gold.py`` connect them to the database."""
