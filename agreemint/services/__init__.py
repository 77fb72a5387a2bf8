"""Use-cases. Each public method owns its transaction; bot and scheduler call the same ones."""
