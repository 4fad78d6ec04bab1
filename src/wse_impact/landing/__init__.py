"""Landing: reading what WSE and KSZ deliver (the delimited reader, the structural check,
checksums), and the person keys (INSZ check digits, the keyed pseudonym)."""
