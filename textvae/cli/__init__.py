"""The `textvae` command line."""
