"""FastAPI app (JSON API, web workbench) and the tongban CLI."""
