"""A person's right of access to their own data: the ZIP export of it (export.py) and the report of who opened
their proofs (report.py)."""
