"""Side-by-side benchmarks of every format: size, accuracy under noise, latency, memory, streaming, roofline."""
