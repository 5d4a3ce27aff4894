"""Brand kits shipped with autocmo as package data: `sample/brand.yaml` is the kit of the demo
and the tests (Northwind Outfitters). Point `AUTOCMO_BRAND` at your own kit."""
