print("benchmarks: placeholder until the benchmark suite lands")
