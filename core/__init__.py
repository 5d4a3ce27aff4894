"""Settings, domain models and the database: the base every other layer builds on."""
