"""The pure domain of taizhang: aggregates, events and rules. No storage, CLI or clock."""
