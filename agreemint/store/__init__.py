"""Storage: models, engine, migrations runner."""
