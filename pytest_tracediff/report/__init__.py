"""Reporting: the terminal summary, CI outputs (JUnit, step summary, artifacts), Chrome trace, HTML."""
