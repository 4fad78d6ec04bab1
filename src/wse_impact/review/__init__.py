"""Review: a researcher asks, custodians check, only then anything leaves (§24)."""
