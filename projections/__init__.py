"""Read models over the ledger, kept current from its log."""
