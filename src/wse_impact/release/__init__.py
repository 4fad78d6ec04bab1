"""Release: the disclosure gate (what may never leave), disclosure control and its audit,
the release log, the files that leave, and a researcher's own aggregates."""
