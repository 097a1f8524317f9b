"""tsunagu, the counsellor side: cases, queue, console, follow-ups."""
