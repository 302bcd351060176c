"""Prometheus exporter of the live counts (per level and per unit) and active targets."""
