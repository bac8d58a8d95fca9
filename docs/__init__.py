"""Package data: the national catalog (catalog.yaml) and one operating guide per item."""
