"""Tests of the NumPy backend."""
