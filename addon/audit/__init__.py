"""The audit log (Art. 9 §9, Art. 11 §4–6): the writer on the hot path and the auditors' queries."""
