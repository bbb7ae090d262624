"""The terminal UI (Textual). Only this package imports Textual; it reaches the engine through services.py."""
