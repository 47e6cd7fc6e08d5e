"""Robustness suite (issue 9): hostile inputs, crashes mid-write, concurrent use, names."""
