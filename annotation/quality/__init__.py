"""Agreement and consensus: pure cores (no ORM). ``annotation/services/quality.py`` connects them to the database."""
