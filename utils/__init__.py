"""Small shared helpers: safe and atomic I/O, error types, progress and parallel maps."""
