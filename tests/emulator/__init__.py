"""Tests of the built-in LINE emulator (bot/emulator)."""
