"""Conversation flows: pure functions from (event, conversation, content) to intents."""
