"""Symbolic sizes: exact expressions in size symbols (``algebra``), deciding their comparisons (``decide``), the
conditions a propagation records (``recording``), and which input sizes satisfy them (``solve``, ``text``)."""
