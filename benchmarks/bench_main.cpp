// main() of the score-model benchmark programs (bench_model, bench_torsion): Google Benchmark's, after the same
// allocator setting the application uses, so timings match what users get.
#include <confsgm/util/allocator_tuning.hpp>

#include <benchmark/benchmark.h>

int main(int argc, char** argv) {
  confsgm::keep_large_allocations_on_heap();  // util/allocator_tuning.hpp
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
