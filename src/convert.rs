//! Rust values -> JS values. The only place that knows the JS shapes of
//! `stats` and `leak` payloads and of heap diffs (field names are memwatch's,
//! snake_case).

use memwatch_core::format::nice_size;
use memwatch_core::heap::{ClassChange, DiffTotals, GraphDiff};
use memwatch_core::layout::HeapStatisticsReference;
use memwatch_core::stats::{FullGcSample, LeakReport, Outcome, Stats};
use napi::bindgen_prelude::*;
use napi::JsValue;

fn stats_object<'e>(env: &'e Env, s: &Stats) -> Result<Object<'e>> {
    let mut o = Object::new(env)?;
    // u64 -> f64: heap sizes are far below 2^53.
    o.set("num_full_gc", s.num_full_gc as f64)?;
    o.set("num_inc_gc", s.num_inc_gc as f64)?;
    o.set("heap_compactions", s.heap_compactions as f64)?;
    o.set("usage_trend", s.usage_trend)?;
    o.set("estimated_base", s.estimated_base as f64)?;
    o.set("current_base", s.current_base as f64)?;
    o.set("min", s.min as f64)?;
    o.set("max", s.max as f64)?;
    o.set("used_heap_size", s.used_heap_size as f64)?;
    o.set("total_heap_size", s.total_heap_size as f64)?;
    o.set("heap_size_limit", s.heap_size_limit as f64)?;
    o.set("external_memory", s.external_memory as f64)?;
    o.set("gc_pause_ms", s.gc_pause_ms)?;
    Ok(o)
}

fn leak_object<'e>(env: &'e Env, l: &LeakReport) -> Result<Object<'e>> {
    let mut o = Object::new(env)?;
    o.set("start", env.create_date(l.start_ms)?.to_unknown())?;
    o.set("end", env.create_date(l.end_ms)?.to_unknown())?;
    o.set("growth", l.growth as f64)?;
    o.set("reason", l.reason.as_str())?;
    o.set("kind", l.kind.as_str())?;
    Ok(o)
}

fn event<'e>(env: &'e Env, kind: &str, data: Object<'e>) -> Result<Object<'e>> {
    let mut o = Object::new(env)?;
    o.set("type", kind)?;
    o.set("data", data)?;
    Ok(o)
}

/// Appends `{type:'leak',data}` events (first, as memwatch emitted `leak`
/// before `stats` for the same GC), then `{type:'stats',data}`.
pub fn push_outcome<'e>(env: &'e Env, out: &mut Vec<Object<'e>>, o: &Outcome) -> Result<()> {
    for l in &o.leaks {
        out.push(event(env, "leak", leak_object(env, l)?)?);
    }
    out.push(event(env, "stats", stats_object(env, &o.stats)?)?);
    Ok(())
}

fn number(o: &Object, key: &str) -> Result<f64> {
    // A wrong type is reported like a missing field: the caller needs the name.
    match o.get::<f64>(key).ok().flatten() {
        Some(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(Error::new(
            Status::InvalidArg,
            format!("expected a non-negative number in field '{key}'"),
        )),
    }
}

fn optional_number(o: &Object, key: &str) -> Result<f64> {
    Ok(o.get::<f64>(key)?
        .filter(|v| v.is_finite() && *v >= 0.0)
        .unwrap_or(0.0))
}

/// The fields of `v8.getHeapStatistics()` the layout check compares.
pub fn heap_reference(o: &Object) -> Result<HeapStatisticsReference> {
    Ok(HeapStatisticsReference {
        heap_size_limit: number(o, "heap_size_limit")? as u64,
        total_heap_size: number(o, "total_heap_size")? as u64,
        used_heap_size: number(o, "used_heap_size")? as u64,
        number_of_native_contexts: number(o, "number_of_native_contexts")? as u64,
        number_of_detached_contexts: number(o, "number_of_detached_contexts")? as u64,
    })
}

/// A full-GC sample described by JS (the perf_hooks fallback).
pub fn sample_from_js(o: &Object) -> Result<FullGcSample> {
    Ok(FullGcSample {
        time_ms: number(o, "time_ms")?,
        used_heap_size: number(o, "used_heap_size")? as u64,
        total_heap_size: number(o, "total_heap_size")? as u64,
        heap_size_limit: number(o, "heap_size_limit")? as u64,
        external_memory: optional_number(o, "external_memory")? as u64,
        gc_pause_ms: optional_number(o, "gc_pause_ms")?,
        incremental_gcs_before: optional_number(o, "incremental_gcs_before")? as u64,
    })
}

fn diff_side<'e>(env: &'e Env, t: &DiffTotals) -> Result<Object<'e>> {
    let mut o = Object::new(env)?;
    o.set("nodes", t.nodes as f64)?;
    o.set("size_bytes", t.size_bytes as f64)?;
    o.set("size", nice_size(t.size_bytes as f64))?;
    Ok(o)
}

/// A diff in memwatch's HeapDiff shape: `{ before, after, change: {
/// size_bytes, size, freed_nodes, allocated_nodes, details: [{ what,
/// size_bytes, size, '+', '-' }] } }`. `per_row` adds fields to each detail
/// row (HeapDiff's examples, the CLI's retained sizes).
pub fn diff_object<'e>(
    env: &'e Env,
    d: &GraphDiff,
    mut per_row: impl FnMut(&ClassChange, &mut Object<'e>) -> Result<()>,
) -> Result<Object<'e>> {
    let mut details = Vec::with_capacity(d.details.len());
    for row in &d.details {
        let mut o = Object::new(env)?;
        o.set("what", row.what.as_str())?;
        o.set("size_bytes", row.size_bytes() as f64)?;
        o.set("size", nice_size(row.size_bytes() as f64))?;
        o.set("+", row.added as f64)?;
        o.set("-", row.deleted as f64)?;
        per_row(row, &mut o)?;
        details.push(o);
    }
    let mut change = Object::new(env)?;
    let net = d.after.size_bytes as f64 - d.before.size_bytes as f64;
    change.set("size_bytes", net)?;
    change.set("size", nice_size(net))?;
    change.set("freed_nodes", d.freed_nodes as f64)?;
    change.set("allocated_nodes", d.allocated_nodes as f64)?;
    change.set("details", details)?;
    let mut out = Object::new(env)?;
    out.set("before", diff_side(env, &d.before)?)?;
    out.set("after", diff_side(env, &d.after)?)?;
    out.set("change", change)?;
    Ok(out)
}
