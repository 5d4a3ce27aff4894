"""The sandbox: a synthetic sample world (customers, products, behaviour) and the response
simulator that stands in for real people in the demo, the benchmarks and the tests. Nothing in
production depends on it."""
