"""pytest fixtures for code that embeds the ledger (placeholder; filled in below)."""
