"""Tests of the built-in LINE emulator (emulator/line_emulator)."""
