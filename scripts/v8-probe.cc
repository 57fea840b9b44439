// What the V8 binding assumes, as one Node's own headers (include/node) say
// it. Never shipped: __test__/v8-layout.test.js compiles this against the
// headers of each Node it runs under and compares the output with the
// binding's table (crates/memwatch-core/src/layout.rs, src/v8/).
//
// Run, it prints JSON: the byte offset of each v8::HeapStatistics field the
// addon reads, and the enum values it passes or compares (GCType, node and
// edge types, UTF-8 write options). Compiled with -fsyntax-only and one of
// the -DCHECK_... macros, it only checks that an overload the table picks
// is declared with the expected signature.
//
// HeapStatistics' private fields are located through its public inline
// accessors: every 8-byte word of a buffer holds its own index + 1, so an
// accessor returns (offset / 8) + 1 of the field it reads.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include "v8-callbacks.h"
#include "v8-primitive.h"
#include "v8-profiler.h"
#include "v8-statistics.h"
#include "v8-version.h"

#if defined(CHECK_SNAPSHOT_OBJECT_NAME_RESOLVER)
using TakeSnapshot = const v8::HeapSnapshot* (v8::HeapProfiler::*)(
    v8::ActivityControl*, v8::HeapProfiler::ObjectNameResolver*, bool, bool);
TakeSnapshot check = &v8::HeapProfiler::TakeHeapSnapshot;
#elif defined(CHECK_SNAPSHOT_CONTEXT_NAME_RESOLVER)
using TakeSnapshot = const v8::HeapSnapshot* (v8::HeapProfiler::*)(
    v8::ActivityControl*, v8::HeapProfiler::ContextNameResolver*, bool, bool);
TakeSnapshot check = &v8::HeapProfiler::TakeHeapSnapshot;
#elif defined(CHECK_UTF8_WRITEUTF8)
using Write = int (v8::String::*)(v8::Isolate*, char*, int, int*, int) const;
Write check = &v8::String::WriteUtf8;
#elif defined(CHECK_UTF8_WRITEUTF8V2)
using Write = size_t (v8::String::*)(v8::Isolate*, char*, size_t, int, size_t*) const;
Write check = &v8::String::WriteUtf8V2;
#else
int main() {
  alignas(16) size_t words[128];
  for (size_t i = 0; i < 128; i++) words[i] = i + 1;
  v8::HeapStatistics* hs = reinterpret_cast<v8::HeapStatistics*>(words);
#define OFF(name) ((hs->name() - 1) * 8)
  std::printf(
      "{\"v8_major\":%d,\"v8_minor\":%d,\"heap_statistics\":{\"size\":%zu,"
      "\"total_heap_size\":%zu,"
      "\"total_heap_size_executable\":%zu,\"total_physical_size\":%zu,"
      "\"total_available_size\":%zu,\"used_heap_size\":%zu,"
      "\"heap_size_limit\":%zu,\"malloced_memory\":%zu,\"external_memory\":%zu,"
      "\"peak_malloced_memory\":%zu,\"number_of_native_contexts\":%zu,"
      "\"number_of_detached_contexts\":%zu},",
      V8_MAJOR_VERSION, V8_MINOR_VERSION, sizeof(v8::HeapStatistics),
      OFF(total_heap_size), OFF(total_heap_size_executable),
      OFF(total_physical_size), OFF(total_available_size), OFF(used_heap_size),
      OFF(heap_size_limit), OFF(malloced_memory), OFF(external_memory),
      OFF(peak_malloced_memory), OFF(number_of_native_contexts),
      OFF(number_of_detached_contexts));
  std::printf(
      "\"gc_type\":{\"scavenge\":%d,\"minor_mark_sweep\":%d,"
      "\"mark_sweep_compact\":%d,\"incremental_marking\":%d,"
      "\"process_weak_callbacks\":%d},",
      v8::kGCTypeScavenge,
#if V8_MAJOR_VERSION >= 12
      v8::kGCTypeMinorMarkSweep,
#else
      v8::kGCTypeMinorMarkCompact,
#endif
      v8::kGCTypeMarkSweepCompact, v8::kGCTypeIncrementalMarking,
      v8::kGCTypeProcessWeakCallbacks);
  std::printf(
      "\"node_type\":{\"hidden\":%d,\"array\":%d,\"string\":%d,\"object\":%d,"
      "\"code\":%d,\"closure\":%d,\"regexp\":%d,\"number\":%d,\"native\":%d,"
      "\"synthetic\":%d,\"concatenated string\":%d,\"sliced string\":%d,"
      "\"symbol\":%d,\"bigint\":%d",
      v8::HeapGraphNode::kHidden, v8::HeapGraphNode::kArray,
      v8::HeapGraphNode::kString, v8::HeapGraphNode::kObject,
      v8::HeapGraphNode::kCode, v8::HeapGraphNode::kClosure,
      v8::HeapGraphNode::kRegExp, v8::HeapGraphNode::kHeapNumber,
      v8::HeapGraphNode::kNative, v8::HeapGraphNode::kSynthetic,
      v8::HeapGraphNode::kConsString, v8::HeapGraphNode::kSlicedString,
      v8::HeapGraphNode::kSymbol, v8::HeapGraphNode::kBigInt);
#if V8_MAJOR_VERSION >= 11
  std::printf(",\"object shape\":%d", v8::HeapGraphNode::kObjectShape);
#endif
  std::printf(
      "},\"edge_type\":{\"context\":%d,\"element\":%d,\"property\":%d,"
      "\"internal\":%d,\"hidden\":%d,\"shortcut\":%d,\"weak\":%d},",
      v8::HeapGraphEdge::kContextVariable, v8::HeapGraphEdge::kElement,
      v8::HeapGraphEdge::kProperty, v8::HeapGraphEdge::kInternal,
      v8::HeapGraphEdge::kHidden, v8::HeapGraphEdge::kShortcut,
      v8::HeapGraphEdge::kWeak);
  std::printf("\"utf8\":{");
#if V8_MAJOR_VERSION < 14 || (V8_MAJOR_VERSION == 14 && V8_MINOR_VERSION < 6)
  std::printf("\"write_utf8_options\":%d,",
              v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
#endif
#if V8_MAJOR_VERSION >= 13
  std::printf("\"write_utf8_v2_flags\":%d,",
              static_cast<int>(v8::String::WriteFlags::kReplaceInvalidUtf8));
#endif
  std::printf("\"_\":0}}\n");
  return 0;
}
#endif
