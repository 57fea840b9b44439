//! The `stats` / `leak` engine: memwatch 0.2's arithmetic over a sequence of
//! full-GC samples, with no knowledge of V8 or Node.
//!
//! Both backends (the native GC hooks and the `perf_hooks` fallback) feed this
//! one engine, so the numbers a user sees do not depend on the backend.

use crate::format::{nice_delta, nice_size};

/// Smoothing window, in full GCs, of `estimated_base` (memwatch's RECENT_PERIOD).
pub const RECENT_PERIOD: f64 = 10.0;
/// Smoothing window, in full GCs, of the long-term base that `usage_trend`
/// compares against (memwatch's ANCIENT_PERIOD).
pub const ANCIENT_PERIOD: f64 = 120.0;
/// Consecutive growing full GCs that make a `leak` report.
pub const LEAK_GC_COUNT: u32 = 5;
/// `min`/`max` are recorded from this compaction on, to let start-up settle.
const MIN_MAX_FROM_COMPACTION: u64 = 3;

/// What is known right after one full GC (mark-sweep-compact).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FullGcSample {
    /// Wall-clock time of the end of the GC, in ms since the Unix epoch.
    pub time_ms: f64,
    pub used_heap_size: u64,
    pub total_heap_size: u64,
    pub heap_size_limit: u64,
    /// Memory outside the V8 heap that V8 accounts for (Buffers, ArrayBuffers).
    pub external_memory: u64,
    /// Time spent in this GC (for `gc()`, in all the collections it ran).
    pub gc_pause_ms: f64,
    /// How many non-full GCs (scavenges, minor mark-sweeps, incremental
    /// marking steps) this isolate has seen before this sample, in total.
    pub incremental_gcs_before: u64,
    /// The other `HeapStatistics` fields, right after the GC.
    pub heap: HeapExtras,
    /// GCs by V8 type since memwatch started listening, this one included.
    pub by_type: GcTypeTotals,
}

/// `HeapStatistics` fields reported as @airbnb/node-memwatch reported them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapExtras {
    pub total_heap_size_executable: u64,
    pub total_physical_size: u64,
    pub total_available_size: u64,
    pub malloced_memory: u64,
    pub peak_malloced_memory: u64,
}

/// Count and total time (nanoseconds) of each kind of GC, as
/// @airbnb/node-memwatch's `gc*Count` / `gc*Time` fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GcTypeTotals {
    /// Young-generation GCs: scavenges and minor mark-sweeps.
    pub scavenge_count: u64,
    pub scavenge_ns: u64,
    /// Full GCs, each one V8 ran (a `gc()` call runs several).
    pub mark_sweep_compact_count: u64,
    pub mark_sweep_compact_ns: u64,
    pub incremental_marking_count: u64,
    pub incremental_marking_ns: u64,
    pub process_weak_callbacks_count: u64,
    pub process_weak_callbacks_ns: u64,
}

/// The payload of a `stats` event, before the delivery-time fields
/// (`rss`, `external`, `array_buffers`) are added by the JS side.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    pub num_full_gc: u64,
    pub num_inc_gc: u64,
    pub heap_compactions: u64,
    /// Percent by which the recent base exceeds the long-term base, one decimal.
    pub usage_trend: f64,
    pub estimated_base: u64,
    pub current_base: u64,
    pub min: u64,
    pub max: u64,
    pub used_heap_size: u64,
    pub total_heap_size: u64,
    pub heap_size_limit: u64,
    pub external_memory: u64,
    pub gc_pause_ms: f64,
    pub time_ms: f64,
    pub heap: HeapExtras,
    pub by_type: GcTypeTotals,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeakKind {
    /// The used V8 heap grew.
    Heap,
    /// Memory outside the V8 heap (external memory) grew.
    External,
}

impl LeakKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LeakKind::Heap => "heap",
            LeakKind::External => "external",
        }
    }

    fn subject(self) -> &'static str {
        match self {
            LeakKind::Heap => "heap",
            LeakKind::External => "external memory",
        }
    }
}

/// The payload of a `leak` event.
#[derive(Clone, Debug, PartialEq)]
pub struct LeakReport {
    pub kind: LeakKind,
    pub start_ms: f64,
    pub end_ms: f64,
    pub growth: u64,
    pub reason: String,
}

/// What one full GC produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub stats: Stats,
    /// At most one report per [`LeakKind`].
    pub leaks: Vec<LeakReport>,
}

/// memwatch's leak rule on one measured quantity: `LEAK_GC_COUNT` consecutive
/// full GCs, each above the previous one, make a report; the count restarts
/// after each report and after any GC that does not grow.
#[derive(Clone, Debug, Default)]
struct GrowthDetector {
    // Starts at 0, as in memwatch: the first GC counts as growth.
    last: u64,
    consecutive: u32,
    start_ms: f64,
    start_value: u64,
}

struct Growth {
    start_ms: f64,
    end_ms: f64,
    growth: u64,
}

impl GrowthDetector {
    fn observe(&mut self, value: u64, time_ms: f64) -> Option<Growth> {
        let mut report = None;
        if value > self.last {
            if self.consecutive == 0 {
                self.start_ms = time_ms;
                self.start_value = value;
            }
            self.consecutive += 1;
            if self.consecutive >= LEAK_GC_COUNT {
                self.consecutive = 0;
                report = Some(Growth {
                    start_ms: self.start_ms,
                    end_ms: time_ms,
                    growth: value - self.start_value,
                });
            }
        } else {
            self.consecutive = 0;
        }
        self.last = value;
        report
    }
}

fn leak_report(kind: LeakKind, g: Growth) -> LeakReport {
    let elapsed_ms = (g.end_ms - g.start_ms).max(0.0);
    let per_hour = if elapsed_ms > 0.0 {
        g.growth as f64 / (elapsed_ms / 3_600_000.0)
    } else {
        f64::INFINITY
    };
    let reason = format!(
        "{} growth over {} consecutive GCs ({}) - {}/hr",
        kind.subject(),
        LEAK_GC_COUNT,
        nice_delta((elapsed_ms / 1000.0).round() as u64),
        nice_size(per_hour)
    );
    LeakReport {
        kind,
        start_ms: g.start_ms,
        end_ms: g.end_ms,
        growth: g.growth,
        reason,
    }
}

/// Per-isolate state of the `stats`/`leak` computation.
#[derive(Clone, Debug, Default)]
pub struct StatsEngine {
    full_gcs: u64,
    incremental_gcs: u64,
    compactions: u64,
    last_base: u64,
    base_recent: f64,
    base_ancient: f64,
    min: u64,
    max: u64,
    heap: GrowthDetector,
    external: GrowthDetector,
}

impl StatsEngine {
    pub fn new() -> Self {
        Self::default()
    }

    /// Non-full GCs counted so far (for the fallback, which counts them in JS).
    pub fn incremental_gcs(&self) -> u64 {
        self.incremental_gcs
    }

    /// Feeds one full GC; returns the `stats` payload and any `leak` reports.
    pub fn record_full(&mut self, s: &FullGcSample) -> Outcome {
        self.full_gcs += 1;
        self.incremental_gcs = self.incremental_gcs.max(s.incremental_gcs_before);
        self.compactions += 1;

        let mut leaks = Vec::new();
        if let Some(g) = self.heap.observe(s.used_heap_size, s.time_ms) {
            leaks.push(leak_report(LeakKind::Heap, g));
        }
        if let Some(g) = self.external.observe(s.external_memory, s.time_ms) {
            leaks.push(leak_report(LeakKind::External, g));
        }

        self.last_base = s.used_heap_size;
        self.smooth_bases();

        if self.compactions >= MIN_MAX_FROM_COMPACTION {
            if self.min == 0 || self.min > self.last_base {
                self.min = self.last_base;
            }
            if self.max == 0 || self.max < self.last_base {
                self.max = self.last_base;
            }
        }

        Outcome {
            stats: self.stats_for(s),
            leaks,
        }
    }

    /// memwatch's exponential smoothing. For the first RECENT_PERIOD
    /// compactions the weight of the history grows as (n/10)^2.5 * n, which
    /// damps the wide swings of a starting process. (memwatch 0.2 computed
    /// n/10 in integer arithmetic, which made that weight 0; this is the
    /// damping its comment describes.)
    fn smooth_bases(&mut self) {
        let n = self.compactions as f64;
        let last = self.last_base as f64;
        if n < RECENT_PERIOD {
            let weight = |exp: f64| {
                let w = (n / RECENT_PERIOD).powf(exp) * n;
                if w.is_finite() {
                    w
                } else {
                    0.0
                }
            };
            let w = weight(2.5);
            self.base_recent = (self.base_recent * w + last) / (w + 1.0);
            let w = weight(2.4);
            self.base_ancient = (self.base_ancient * w + last) / (w + 1.0);
        } else {
            self.base_recent = (self.base_recent * (RECENT_PERIOD - 1.0) + last) / RECENT_PERIOD;
            self.base_ancient =
                (self.base_ancient * (ANCIENT_PERIOD - 1.0) + last) / ANCIENT_PERIOD;
        }
    }

    fn stats_for(&self, s: &FullGcSample) -> Stats {
        let usage_trend = if self.base_ancient != 0.0 {
            (((self.base_recent - self.base_ancient) / self.base_ancient) * 1000.0).round() / 10.0
        } else {
            0.0
        };
        Stats {
            num_full_gc: self.full_gcs,
            num_inc_gc: self.incremental_gcs,
            heap_compactions: self.compactions,
            usage_trend,
            // Rounded, so a flat heap reports exactly its base.
            estimated_base: self.base_recent.round() as u64,
            current_base: self.last_base,
            min: self.min,
            max: self.max,
            used_heap_size: s.used_heap_size,
            total_heap_size: s.total_heap_size,
            heap_size_limit: s.heap_size_limit,
            external_memory: s.external_memory,
            gc_pause_ms: s.gc_pause_ms,
            time_ms: s.time_ms,
            heap: s.heap,
            by_type: s.by_type,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1024 * 1024;

    fn sample(t_s: f64, used: u64) -> FullGcSample {
        FullGcSample {
            time_ms: 1_700_000_000_000.0 + t_s * 1000.0,
            used_heap_size: used,
            total_heap_size: used * 2,
            heap_size_limit: 4096 * MB,
            external_memory: MB,
            gc_pause_ms: 1.5,
            incremental_gcs_before: 0,
            ..Default::default()
        }
    }

    #[test]
    fn counts_full_and_incremental_gcs() {
        let mut e = StatsEngine::new();
        let mut s = sample(0.0, 10 * MB);
        s.incremental_gcs_before = 7;
        let o = e.record_full(&s);
        assert_eq!(o.stats.num_full_gc, 1);
        assert_eq!(o.stats.heap_compactions, 1);
        assert_eq!(o.stats.num_inc_gc, 7);
        assert_eq!(o.stats.current_base, 10 * MB);
        assert_eq!(o.stats.gc_pause_ms, 1.5);
        s.incremental_gcs_before = 12;
        let o = e.record_full(&s);
        assert_eq!((o.stats.num_full_gc, o.stats.num_inc_gc), (2, 12));
    }

    #[test]
    fn min_and_max_start_at_the_third_compaction() {
        let mut e = StatsEngine::new();
        let bases = [50, 5, 20, 10, 30, 15];
        let mut seen = Vec::new();
        for (i, b) in bases.iter().enumerate() {
            let o = e.record_full(&sample(i as f64, b * MB));
            seen.push((o.stats.min / MB, o.stats.max / MB));
        }
        // GCs 1 and 2 (50 MB and 5 MB) are not recorded in min/max.
        assert_eq!(
            seen,
            vec![(0, 0), (0, 0), (20, 20), (10, 20), (10, 30), (10, 30)]
        );
    }

    #[test]
    fn flat_heap_has_zero_trend_and_exact_base() {
        let mut e = StatsEngine::new();
        let mut last = None;
        for i in 0..200 {
            last = Some(e.record_full(&sample(i as f64, 40 * MB)));
            // A flat heap never looks like a leak.
            assert!(last.as_ref().unwrap().leaks.is_empty());
        }
        let s = last.unwrap().stats;
        assert_eq!(s.estimated_base, 40 * MB);
        assert_eq!(s.usage_trend, 0.0);
    }

    #[test]
    fn smoothing_follows_memwatch_formulas() {
        let mut e = StatsEngine::new();
        // First compaction: history weight (1/10)^2.5*1 is tiny.
        let o = e.record_full(&sample(0.0, 100));
        assert_eq!(o.stats.estimated_base, 100);
        let o = e.record_full(&sample(1.0, 200));
        let w = (0.2f64).powf(2.5) * 2.0;
        let expect = (100.0 * w + 200.0) / (w + 1.0);
        assert_eq!(o.stats.estimated_base, expect.round() as u64);
        // After RECENT_PERIOD compactions the plain 9/10 and 119/120 averages apply.
        let mut e = StatsEngine::new();
        let mut before = 0;
        for i in 0..10 {
            before = e
                .record_full(&sample(i as f64, 1000 * MB))
                .stats
                .estimated_base;
        }
        // Damped from a base of 0, the start-up average has almost converged.
        let prev = before as f64 / MB as f64;
        assert!((prev - 1000.0).abs() < 0.01, "{prev}");
        let o = e.record_full(&sample(10.0, 2000 * MB));
        let recent = (prev * 9.0 + 2000.0) / 10.0;
        assert!((o.stats.estimated_base as f64 / MB as f64 - recent).abs() < 1e-6);
        assert!(o.stats.usage_trend > 9.0 && o.stats.usage_trend < 9.2);
    }

    #[test]
    fn five_growing_gcs_make_one_leak_then_the_count_restarts() {
        let mut e = StatsEngine::new();
        let mut reports = Vec::new();
        // Grows by 1 MB every 5 s, for 12 GCs.
        for i in 0..12u64 {
            let o = e.record_full(&sample(i as f64 * 5.0, (10 + i) * MB));
            for l in o.leaks {
                reports.push((i, l));
            }
        }
        // The first GC counts as growth (memwatch starts from a base of 0),
        // so reports come on GCs #5 and #10 (indices 4 and 9).
        let at: Vec<u64> = reports.iter().map(|(i, _)| *i).collect();
        assert_eq!(at, vec![4, 9]);
        let first = &reports[0].1;
        assert_eq!(first.kind, LeakKind::Heap);
        assert_eq!(first.growth, 4 * MB);
        assert_eq!(first.end_ms - first.start_ms, 20_000.0);
        // 4 MB in 20 s = 720 MB/hr.
        assert_eq!(
            first.reason,
            "heap growth over 5 consecutive GCs (20s) - 720.00 mb/hr"
        );
        // The second run starts at GC index 5, its own first growth.
        assert_eq!(reports[1].1.growth, 4 * MB);
    }

    #[test]
    fn reason_matches_the_memwatch_example() {
        // 11.67 mb/hr over 20 s is 67,982 bytes of growth.
        let g = Growth {
            start_ms: 0.0,
            end_ms: 20_000.0,
            growth: 67_982,
        };
        assert_eq!(
            leak_report(LeakKind::Heap, g).reason,
            "heap growth over 5 consecutive GCs (20s) - 11.67 mb/hr"
        );
        let g = Growth {
            start_ms: 0.0,
            end_ms: 3_723_000.0,
            growth: 3 * MB,
        };
        assert_eq!(
            leak_report(LeakKind::External, g).reason,
            "external memory growth over 5 consecutive GCs (1h 2m 3s) - 2.90 mb/hr"
        );
    }

    #[test]
    fn a_dip_resets_the_growth_count() {
        let mut e = StatsEngine::new();
        let bases = [10, 11, 12, 13, 12, 13, 14, 15, 16];
        let mut leaks = 0;
        for (i, b) in bases.iter().enumerate() {
            leaks += e.record_full(&sample(i as f64, b * MB)).leaks.len();
        }
        // 10..13 is four growths, the dip at 12 resets; 13..16 is four again.
        assert_eq!(leaks, 0);
        leaks += e.record_full(&sample(9.0, 17 * MB)).leaks.len();
        assert_eq!(leaks, 1);
    }

    #[test]
    fn external_memory_growth_is_its_own_leak() {
        let mut e = StatsEngine::new();
        let mut kinds = Vec::new();
        for i in 0..5u64 {
            let mut s = sample(i as f64, 10 * MB);
            s.external_memory = (1 + i) * 8 * MB;
            kinds.extend(e.record_full(&s).leaks.into_iter().map(|l| l.kind));
        }
        // The heap's first GC counts as growth, but it stays flat after that.
        assert_eq!(kinds, vec![LeakKind::External]);
    }

    #[test]
    fn zero_length_growth_period_does_not_print_infinity() {
        let mut e = StatsEngine::new();
        let mut reason = String::new();
        for i in 0..5u64 {
            let mut s = sample(0.0, (10 + i) * MB);
            s.external_memory = MB;
            for l in e.record_full(&s).leaks {
                reason = l.reason;
            }
        }
        assert_eq!(
            reason,
            "heap growth over 5 consecutive GCs (0s) - unknown/hr"
        );
    }
}
