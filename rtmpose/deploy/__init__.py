"""Deployment: export per backend, runners per backend, and the export accuracy gate."""
