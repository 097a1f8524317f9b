"""tsunagu, the resident side: LINE webhook, inbox, conversation, outbox and emulator."""
