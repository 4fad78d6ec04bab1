"""wse_impact: linkage, pseudonymisation, classing and disclosure control for deliberation 23/186."""
