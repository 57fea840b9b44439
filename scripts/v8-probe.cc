// What the V8 binding assumes, as one Node's own headers (include/node) say
// it. Never shipped: __test__/v8-layout.test.js compiles this against the
// headers of each Node it runs under and compares the output with the
// binding's table (crates/memwatch-core/src/layout.rs, src/v8/).
//
// Run, it prints JSON: the byte offset of each v8::HeapStatistics field the
// addon reads, the enum values it passes or compares (GCType, node and
// edge types, UTF-8 write options, sampling flags), and the layout of
// v8::AllocationProfile (field offsets of its inline structs, the
// std::vector representation, and which vtable slot does what). Compiled with -fsyntax-only and one of
// the -DCHECK_... macros, it only checks that an overload the table picks
// is declared with the expected signature.
//
// HeapStatistics' private fields are located through its public inline
// accessors: every 8-byte word of a buffer holds its own index + 1, so an
// accessor returns (offset / 8) + 1 of the field it reads.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <string_view>
#include <vector>
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
#elif defined(CHECK_SAMPLING)
// The sampling heap profiler as src/v8/sampling.rs calls it.
using Start = bool (v8::HeapProfiler::*)(uint64_t, int, v8::HeapProfiler::SamplingFlags);
using Stop = void (v8::HeapProfiler::*)();
using Get = v8::AllocationProfile* (v8::HeapProfiler::*)();
using Root = v8::AllocationProfile::Node* (v8::AllocationProfile::*)();
using Samples = const std::vector<v8::AllocationProfile::Sample>& (v8::AllocationProfile::*)();
Start start = &v8::HeapProfiler::StartSamplingHeapProfiler;
Stop stop = &v8::HeapProfiler::StopSamplingHeapProfiler;
Get get = &v8::HeapProfiler::GetAllocationProfile;
Root root = &v8::AllocationProfile::GetRootNode;
Samples samples = &v8::AllocationProfile::GetSamples;
static_assert(sizeof(v8::Local<v8::String>) == sizeof(void*), "Local is one pointer");
#else
// Which vtable slot of AllocationProfile does what, found by calling each
// slot of a derived object the way the binding calls them (a plain function
// taking `this`) and recording what ran. `operator delete` is overridden to
// record instead of free, so the deleting destructor can be told from the
// complete-object one; the object is rebuilt before each call.
static char g_calls[8];
static int g_ncalls;
static void note(char c) {
  if (g_ncalls < 7) g_calls[g_ncalls++] = c;
}
struct ProbeProfile final : v8::AllocationProfile {
  std::vector<Sample> samples;
  Node* GetRootNode() override { note('r'); return nullptr; }
  const std::vector<Sample>& GetSamples() override { note('s'); return samples; }
  ~ProbeProfile() override { note('d'); }
  static void operator delete(void*) { note('D'); }
};
alignas(ProbeProfile) static unsigned char g_storage[sizeof(ProbeProfile)];

static void vtable_slots() {
  int root = -1, samples = -1, complete = -1, deleting = -1;
  for (int slot = 0; slot < 4; slot++) {
    ProbeProfile* p = new (g_storage) ProbeProfile();
    void** vtable = *reinterpret_cast<void***>(p);
    g_ncalls = 0;
    reinterpret_cast<void (*)(void*)>(vtable[slot])(p);
    g_calls[g_ncalls] = 0;
    std::string_view what(g_calls, g_ncalls);
    if (what == "r") root = slot;
    else if (what == "s") samples = slot;
    else if (what == "d") complete = slot;
    else if (what == "dD") deleting = slot;
    if (what == "r" || what == "s") p->~ProbeProfile();
  }
  std::printf(
      "\"vtable\":{\"get_root_node\":%d,\"get_samples\":%d,"
      "\"itanium_complete_dtor\":%d,\"itanium_deleting_dtor\":%d},",
      root, samples, complete, deleting);
}

// Where std::vector keeps begin and end: a vector of three elements with
// room for eight holds data() and data() + 3 in two of its pointer-sized
// words (and data() + 8, its capacity, in a third).
static void vector_layout() {
  std::vector<v8::AllocationProfile::Node*> v;
  v.reserve(8);
  v.resize(3);
  void* words[sizeof(v) / sizeof(void*)];
  std::memcpy(words, &v, sizeof(v));
  int begin = -1, end = -1;
  for (size_t i = 0; i < sizeof(v) / sizeof(void*); i++) {
    if (words[i] == static_cast<void*>(v.data())) begin = static_cast<int>(i * sizeof(void*));
    if (words[i] == static_cast<void*>(v.data() + 3)) end = static_cast<int>(i * sizeof(void*));
  }
  std::printf("\"vector\":{\"size\":%zu,\"begin\":%d,\"end\":%d},", sizeof(v), begin, end);
}

static void allocation_profile() {
  using AP = v8::AllocationProfile;
  std::printf("\"allocation_profile\":{");
  vtable_slots();
  vector_layout();
  std::printf(
      "\"node\":{\"size\":%zu,\"name\":%zu,\"script_name\":%zu,\"script_id\":%zu,"
      "\"start_position\":%zu,\"line_number\":%zu,\"column_number\":%zu,"
      "\"node_id\":%zu,\"children\":%zu,\"allocations\":%zu},",
      sizeof(AP::Node), offsetof(AP::Node, name), offsetof(AP::Node, script_name),
      offsetof(AP::Node, script_id), offsetof(AP::Node, start_position),
      offsetof(AP::Node, line_number), offsetof(AP::Node, column_number),
      offsetof(AP::Node, node_id), offsetof(AP::Node, children),
      offsetof(AP::Node, allocations));
  std::printf("\"allocation\":{\"size\":%zu,\"size_field\":%zu,\"count\":%zu},",
              sizeof(AP::Allocation), offsetof(AP::Allocation, size),
              offsetof(AP::Allocation, count));
  std::printf(
      "\"sample\":{\"size\":%zu,\"node_id\":%zu,\"size_field\":%zu,\"count\":%zu,"
      "\"sample_id\":%zu,\"is_live\":",
      sizeof(AP::Sample), offsetof(AP::Sample, node_id), offsetof(AP::Sample, size),
      offsetof(AP::Sample, count), offsetof(AP::Sample, sample_id));
#if V8_MAJOR_VERSION > 14 || (V8_MAJOR_VERSION == 14 && V8_MINOR_VERSION >= 6)
  std::printf("%zu", offsetof(AP::Sample, is_live));
#else
  std::printf("null");
#endif
  std::printf("}},\"sampling_flags\":{\"no_flags\":%d,\"force_gc\":%d},",
              v8::HeapProfiler::kSamplingNoFlags, v8::HeapProfiler::kSamplingForceGC);
}

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
  allocation_profile();
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
