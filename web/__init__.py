"""taizhang serve: the ledger's read side in a browser and as Open311 JSON."""
