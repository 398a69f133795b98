"""Test corpora for proof files: adversarial PDFs and images, benign generators, marker checks."""
