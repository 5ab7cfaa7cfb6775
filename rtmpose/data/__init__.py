"""Data: per-data-set metadata, release converters, the synthetic set, and the top-down pipeline."""
