"""What agents use, and delivery: LLM client, audience features, importer, channels, the
dispatcher and its dispatch cycle, scheduling, statistics, the sample world and the response
simulator. Customers and the catalog are core repositories (`core/customers.py`,
`core/catalog.py`)."""
