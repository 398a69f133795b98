"""The token-authenticated API for the main shift app, one package per version."""
