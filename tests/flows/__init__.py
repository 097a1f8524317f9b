"""Pure tests of the flow engine, the flow validator and routing (no database, no I/O)."""
