"""The use cases above the write side (`ledger/`) and the read side (`projections/`), and the
composition root that builds both (`bootstrap.py`): what `commands/` and `web/` call."""
