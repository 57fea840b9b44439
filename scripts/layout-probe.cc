// Prints, as JSON, the byte offset of each v8::HeapStatistics field that the
// addon reads, as compiled against one Node's include/node headers.
// Never shipped: the test suite compiles it per supported Node version and
// compares the result with the Rust table in crates/memwatch-core/src/layout.rs.
//
// Private fields are located through the public inline accessors: every
// 8-byte word of a buffer holds its own index + 1, so an accessor returns
// (offset / 8) + 1 of the field it reads.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include "v8-statistics.h"
#include "v8-version.h"

int main() {
  alignas(16) size_t words[128];
  for (size_t i = 0; i < 128; i++) words[i] = i + 1;
  v8::HeapStatistics* hs = reinterpret_cast<v8::HeapStatistics*>(words);
#define OFF(name) ((hs->name() - 1) * 8)
  std::printf(
      "{\"v8_major\":%d,\"size\":%zu,\"total_heap_size\":%zu,"
      "\"total_heap_size_executable\":%zu,\"total_physical_size\":%zu,"
      "\"total_available_size\":%zu,\"used_heap_size\":%zu,"
      "\"heap_size_limit\":%zu,\"malloced_memory\":%zu,\"external_memory\":%zu,"
      "\"peak_malloced_memory\":%zu,\"number_of_native_contexts\":%zu,"
      "\"number_of_detached_contexts\":%zu}\n",
      V8_MAJOR_VERSION, sizeof(v8::HeapStatistics), OFF(total_heap_size),
      OFF(total_heap_size_executable), OFF(total_physical_size),
      OFF(total_available_size), OFF(used_heap_size), OFF(heap_size_limit),
      OFF(malloced_memory), OFF(external_memory), OFF(peak_malloced_memory),
      OFF(number_of_native_contexts), OFF(number_of_detached_contexts));
  return 0;
}
