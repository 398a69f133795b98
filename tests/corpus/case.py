"""One corpus file, shared by the PDF and image corpora."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    """One corpus file: a readable name, its bytes and what it holds (or what must become of it)."""

    name: str
    data: bytes
    kind: str
