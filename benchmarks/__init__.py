"""Benchmarks of the reference's NumPy kernels against torch's, generated from the registry:
`pytest benchmarks` (see docs/benchmarks.md)."""
