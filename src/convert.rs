//! Rust values -> JS values. The only place that knows the JS shapes of
//! `stats` and `leak` payloads and of heap diffs (field names are memwatch's,
//! snake_case, and @airbnb/node-memwatch's camelCase `gc*` counters).

use memwatch_core::format::nice_size;
use memwatch_core::heap::{ClassChange, DiffTotals, GraphDiff};
use memwatch_core::layout::{HeapStatisticsReference, HEAP_STATISTICS_FIELDS};
use memwatch_core::stats::{FullGcSample, LeakReport, Outcome, Stats};
use napi::bindgen_prelude::*;

/// A `stats` payload, before the delivery-time fields (`rss`, `external`,
/// `array_buffers`) that the JS side adds.
#[napi(object)]
pub struct StatsPayload {
    #[napi(js_name = "num_full_gc")]
    pub num_full_gc: f64,
    #[napi(js_name = "num_inc_gc")]
    pub num_inc_gc: f64,
    #[napi(js_name = "heap_compactions")]
    pub heap_compactions: f64,
    #[napi(js_name = "usage_trend")]
    pub usage_trend: f64,
    #[napi(js_name = "estimated_base")]
    pub estimated_base: f64,
    #[napi(js_name = "current_base")]
    pub current_base: f64,
    pub min: f64,
    pub max: f64,
    #[napi(js_name = "used_heap_size")]
    pub used_heap_size: f64,
    #[napi(js_name = "total_heap_size")]
    pub total_heap_size: f64,
    #[napi(js_name = "heap_size_limit")]
    pub heap_size_limit: f64,
    #[napi(js_name = "external_memory")]
    pub external_memory: f64,
    #[napi(js_name = "gc_pause_ms")]
    pub gc_pause_ms: f64,
    // @airbnb/node-memwatch's fields, same meaning and units (its
    // src/memwatch.cc): sizes in bytes, times in nanoseconds, `gc_ts` in
    // microseconds since the epoch.
    #[napi(js_name = "total_heap_size_executable")]
    pub total_heap_size_executable: f64,
    #[napi(js_name = "total_physical_size")]
    pub total_physical_size: f64,
    #[napi(js_name = "total_available_size")]
    pub total_available_size: f64,
    #[napi(js_name = "malloced_memory")]
    pub malloced_memory: f64,
    #[napi(js_name = "peak_malloced_memory")]
    pub peak_malloced_memory: f64,
    #[napi(js_name = "gc_time")]
    pub gc_time: f64,
    #[napi(js_name = "gc_ts")]
    pub gc_ts: f64,
    #[napi(js_name = "gcScavengeCount")]
    pub gc_scavenge_count: f64,
    #[napi(js_name = "gcScavengeTime")]
    pub gc_scavenge_time: f64,
    #[napi(js_name = "gcMarkSweepCompactCount")]
    pub gc_mark_sweep_compact_count: f64,
    #[napi(js_name = "gcMarkSweepCompactTime")]
    pub gc_mark_sweep_compact_time: f64,
    #[napi(js_name = "gcIncrementalMarkingCount")]
    pub gc_incremental_marking_count: f64,
    #[napi(js_name = "gcIncrementalMarkingTime")]
    pub gc_incremental_marking_time: f64,
    #[napi(js_name = "gcProcessWeakCallbacksCount")]
    pub gc_process_weak_callbacks_count: f64,
    #[napi(js_name = "gcProcessWeakCallbacksTime")]
    pub gc_process_weak_callbacks_time: f64,
}

impl From<&Stats> for StatsPayload {
    fn from(s: &Stats) -> Self {
        // u64 -> f64: heap sizes, counts and nanosecond totals stay far below 2^53.
        let t = &s.by_type;
        Self {
            num_full_gc: s.num_full_gc as f64,
            num_inc_gc: s.num_inc_gc as f64,
            heap_compactions: s.heap_compactions as f64,
            usage_trend: s.usage_trend,
            estimated_base: s.estimated_base as f64,
            current_base: s.current_base as f64,
            min: s.min as f64,
            max: s.max as f64,
            used_heap_size: s.used_heap_size as f64,
            total_heap_size: s.total_heap_size as f64,
            heap_size_limit: s.heap_size_limit as f64,
            external_memory: s.external_memory as f64,
            gc_pause_ms: s.gc_pause_ms,
            total_heap_size_executable: s.heap.total_heap_size_executable as f64,
            total_physical_size: s.heap.total_physical_size as f64,
            total_available_size: s.heap.total_available_size as f64,
            malloced_memory: s.heap.malloced_memory as f64,
            peak_malloced_memory: s.heap.peak_malloced_memory as f64,
            gc_time: (s.gc_pause_ms * 1e6).round(),
            gc_ts: (s.time_ms * 1000.0).round(),
            gc_scavenge_count: t.scavenge_count as f64,
            gc_scavenge_time: t.scavenge_ns as f64,
            gc_mark_sweep_compact_count: t.mark_sweep_compact_count as f64,
            gc_mark_sweep_compact_time: t.mark_sweep_compact_ns as f64,
            gc_incremental_marking_count: t.incremental_marking_count as f64,
            gc_incremental_marking_time: t.incremental_marking_ns as f64,
            gc_process_weak_callbacks_count: t.process_weak_callbacks_count as f64,
            gc_process_weak_callbacks_time: t.process_weak_callbacks_ns as f64,
        }
    }
}

/// A `leak` payload; `start`/`end` are milliseconds since the epoch, turned
/// into `Date`s by the JS side.
#[napi(object)]
pub struct LeakPayload {
    pub start: f64,
    pub end: f64,
    pub growth: f64,
    pub reason: String,
    pub kind: String,
}

impl From<&LeakReport> for LeakPayload {
    fn from(l: &LeakReport) -> Self {
        Self {
            start: l.start_ms,
            end: l.end_ms,
            growth: l.growth as f64,
            reason: l.reason.clone(),
            kind: l.kind.as_str().to_owned(),
        }
    }
}

/// What one or more full GCs produced, oldest first: for each GC its leak
/// reports (memwatch emitted `leak` before the `stats` of the same GC),
/// then its stats.
#[napi(object)]
pub struct GcEvents {
    pub stats: Vec<StatsPayload>,
    /// `leaks_before[i]`: the leak reports to emit before `stats[i]`.
    pub leaks_before: Vec<Vec<LeakPayload>>,
}

impl GcEvents {
    pub fn new() -> Self {
        Self {
            stats: Vec::new(),
            leaks_before: Vec::new(),
        }
    }

    pub fn push(&mut self, o: &Outcome) {
        self.leaks_before
            .push(o.leaks.iter().map(LeakPayload::from).collect());
        self.stats.push(StatsPayload::from(&o.stats));
    }
}

/// A full-GC sample described by JS (the perf_hooks fallback).
#[napi(object)]
pub struct SampleInput {
    #[napi(js_name = "time_ms")]
    pub time_ms: f64,
    #[napi(js_name = "used_heap_size")]
    pub used_heap_size: f64,
    #[napi(js_name = "total_heap_size")]
    pub total_heap_size: f64,
    #[napi(js_name = "heap_size_limit")]
    pub heap_size_limit: f64,
    #[napi(js_name = "external_memory")]
    pub external_memory: Option<f64>,
    #[napi(js_name = "gc_pause_ms")]
    pub gc_pause_ms: Option<f64>,
    #[napi(js_name = "incremental_gcs_before")]
    pub incremental_gcs_before: Option<f64>,
    #[napi(js_name = "total_heap_size_executable")]
    pub total_heap_size_executable: Option<f64>,
    #[napi(js_name = "total_physical_size")]
    pub total_physical_size: Option<f64>,
    #[napi(js_name = "total_available_size")]
    pub total_available_size: Option<f64>,
    #[napi(js_name = "malloced_memory")]
    pub malloced_memory: Option<f64>,
    #[napi(js_name = "peak_malloced_memory")]
    pub peak_malloced_memory: Option<f64>,
    #[napi(js_name = "scavenge_count")]
    pub scavenge_count: Option<f64>,
    #[napi(js_name = "scavenge_ns")]
    pub scavenge_ns: Option<f64>,
    #[napi(js_name = "mark_sweep_compact_count")]
    pub mark_sweep_compact_count: Option<f64>,
    #[napi(js_name = "mark_sweep_compact_ns")]
    pub mark_sweep_compact_ns: Option<f64>,
    #[napi(js_name = "incremental_marking_count")]
    pub incremental_marking_count: Option<f64>,
    #[napi(js_name = "incremental_marking_ns")]
    pub incremental_marking_ns: Option<f64>,
    #[napi(js_name = "process_weak_callbacks_count")]
    pub process_weak_callbacks_count: Option<f64>,
    #[napi(js_name = "process_weak_callbacks_ns")]
    pub process_weak_callbacks_ns: Option<f64>,
}

fn non_negative(v: f64, key: &str) -> std::result::Result<f64, String> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!(
            "expected a non-negative number in field '{key}', got {v}"
        ))
    }
}

impl SampleInput {
    pub fn to_sample(&self) -> std::result::Result<FullGcSample, String> {
        let opt = |v: Option<f64>, key: &str| non_negative(v.unwrap_or(0.0), key).map(|x| x as u64);
        Ok(FullGcSample {
            time_ms: non_negative(self.time_ms, "time_ms")?,
            used_heap_size: non_negative(self.used_heap_size, "used_heap_size")? as u64,
            total_heap_size: non_negative(self.total_heap_size, "total_heap_size")? as u64,
            heap_size_limit: non_negative(self.heap_size_limit, "heap_size_limit")? as u64,
            external_memory: opt(self.external_memory, "external_memory")?,
            gc_pause_ms: non_negative(self.gc_pause_ms.unwrap_or(0.0), "gc_pause_ms")?,
            incremental_gcs_before: opt(self.incremental_gcs_before, "incremental_gcs_before")?,
            heap: memwatch_core::stats::HeapExtras {
                total_heap_size_executable: opt(
                    self.total_heap_size_executable,
                    "total_heap_size_executable",
                )?,
                total_physical_size: opt(self.total_physical_size, "total_physical_size")?,
                total_available_size: opt(self.total_available_size, "total_available_size")?,
                malloced_memory: opt(self.malloced_memory, "malloced_memory")?,
                peak_malloced_memory: opt(self.peak_malloced_memory, "peak_malloced_memory")?,
            },
            by_type: memwatch_core::stats::GcTypeTotals {
                scavenge_count: opt(self.scavenge_count, "scavenge_count")?,
                scavenge_ns: opt(self.scavenge_ns, "scavenge_ns")?,
                mark_sweep_compact_count: opt(
                    self.mark_sweep_compact_count,
                    "mark_sweep_compact_count",
                )?,
                mark_sweep_compact_ns: opt(self.mark_sweep_compact_ns, "mark_sweep_compact_ns")?,
                incremental_marking_count: opt(
                    self.incremental_marking_count,
                    "incremental_marking_count",
                )?,
                incremental_marking_ns: opt(self.incremental_marking_ns, "incremental_marking_ns")?,
                process_weak_callbacks_count: opt(
                    self.process_weak_callbacks_count,
                    "process_weak_callbacks_count",
                )?,
                process_weak_callbacks_ns: opt(
                    self.process_weak_callbacks_ns,
                    "process_weak_callbacks_ns",
                )?,
            },
        })
    }
}

/// `v8.getHeapStatistics()`'s fields that the layout check compares (the
/// ones a Node lacks are left out).
pub fn heap_reference(o: &Object) -> std::result::Result<HeapStatisticsReference, String> {
    let mut r = HeapStatisticsReference::default();
    for name in HEAP_STATISTICS_FIELDS {
        match o.get::<f64>(name) {
            Ok(Some(v)) if v.is_finite() && v >= 0.0 => r.set(name, v as u64),
            Ok(None) => {}
            _ => return Err(format!("v8.getHeapStatistics().{name} is not a number")),
        }
    }
    Ok(r)
}

/// `before` / `after` of a diff.
#[napi(object)]
pub struct DiffSide {
    pub nodes: f64,
    #[napi(js_name = "size_bytes")]
    pub size_bytes: f64,
    pub size: String,
    /// All nodes of the snapshot (the CLI's `diff --json`; HeapDiff leaves it out).
    #[napi(js_name = "snapshot_nodes")]
    pub snapshot_nodes: Option<f64>,
}

impl From<&DiffTotals> for DiffSide {
    fn from(t: &DiffTotals) -> Self {
        Self {
            nodes: t.nodes as f64,
            size_bytes: t.size_bytes as f64,
            size: nice_size(t.size_bytes as f64),
            snapshot_nodes: None,
        }
    }
}

/// A sample object of a growing class (HeapDiff's `examples`).
#[napi(object)]
pub struct DiffExample {
    pub id: f64,
    #[napi(js_name = "self_size")]
    pub self_size: f64,
    #[napi(js_name = "retained_size")]
    pub retained_size: f64,
    pub path: String,
}

/// One row of `change.details`.
#[napi(object)]
pub struct DiffRow {
    pub what: String,
    #[napi(js_name = "size_bytes")]
    pub size_bytes: f64,
    pub size: String,
    #[napi(js_name = "+")]
    pub added: f64,
    #[napi(js_name = "-")]
    pub deleted: f64,
    #[napi(js_name = "retained_size_bytes")]
    pub retained_size_bytes: Option<f64>,
    #[napi(js_name = "retained_size")]
    pub retained_size: Option<String>,
    pub examples: Option<Vec<DiffExample>>,
}

impl From<&ClassChange> for DiffRow {
    fn from(row: &ClassChange) -> Self {
        Self {
            what: row.what.clone(),
            size_bytes: row.size_bytes() as f64,
            size: nice_size(row.size_bytes() as f64),
            added: row.added as f64,
            deleted: row.deleted as f64,
            retained_size_bytes: None,
            retained_size: None,
            examples: None,
        }
    }
}

#[napi(object)]
pub struct DiffChange {
    #[napi(js_name = "size_bytes")]
    pub size_bytes: f64,
    pub size: String,
    #[napi(js_name = "freed_nodes")]
    pub freed_nodes: f64,
    #[napi(js_name = "allocated_nodes")]
    pub allocated_nodes: f64,
    pub details: Vec<DiffRow>,
}

/// A diff in memwatch's HeapDiff shape: `{ before, after, change: {
/// size_bytes, size, freed_nodes, allocated_nodes, details: [{ what,
/// size_bytes, size, '+', '-' }] } }`; `before.time`/`after.time` are added
/// by the JS side. Optional row fields left `None` are not set at all, so
/// the default output has exactly memwatch's keys.
#[napi(object)]
pub struct DiffResult {
    pub before: DiffSide,
    pub after: DiffSide,
    pub change: DiffChange,
}

impl DiffResult {
    /// `per_row` fills the optional fields (HeapDiff's examples, the CLI's
    /// retained sizes).
    pub fn new(d: &GraphDiff, mut per_row: impl FnMut(&ClassChange, &mut DiffRow)) -> Self {
        let details = d
            .details
            .iter()
            .map(|row| {
                let mut r = DiffRow::from(row);
                per_row(row, &mut r);
                r
            })
            .collect();
        let net = d.after.size_bytes as f64 - d.before.size_bytes as f64;
        Self {
            before: DiffSide::from(&d.before),
            after: DiffSide::from(&d.after),
            change: DiffChange {
                size_bytes: net,
                size: nice_size(net),
                freed_nodes: d.freed_nodes as f64,
                allocated_nodes: d.allocated_nodes as f64,
                details,
            },
        }
    }
}
