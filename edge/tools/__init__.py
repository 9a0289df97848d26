"""Tools around the product, never imported by the runtime: the demo, the simulator, benches,
the load generator, a throwaway local broker and rendered test frames."""
