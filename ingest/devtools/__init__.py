"""Developer tools, apart from the product: the scrape simulator, the demo and the benchmarks."""
