"""NumPy forward-pass kernels that compute layer outputs from real arrays, independent of the size formulas."""
