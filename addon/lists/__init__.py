"""Category lists: compiling them into the index the policy core reads."""
