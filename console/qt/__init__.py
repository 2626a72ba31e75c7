"""Thin Qt views over the console's models."""
