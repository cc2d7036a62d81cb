"""Storage helpers shared by the state and audit databases."""
