"""Evaluating a person's Consent for one disclosure: who to whom, what, why and when."""
