//! Heap graphs held for open HeapDiffs, and the diff turned into memwatch's
//! JSON shape. Graphs stay in Rust, addressed by a small integer: a HeapDiff
//! keeps a number, not a JS object, so it adds nothing to the heap it diffs.

use crate::convert::diff_object;
use memwatch_core::format::nice_size;
use memwatch_core::heap::{
    added_samples_named, diff_named, dominators_with_rules, format_path, memwatch_class,
    parse_heap_snapshot, ClassChange, DiffNames, HeapGraph, RetainRules, RootPaths,
};
use napi::bindgen_prelude::*;
use std::collections::HashMap;

/// Classes (largest growth first) that get `examples` in `end({ examples })`.
const EXAMPLE_CLASSES: usize = 10;

pub fn coded_error(code: &str, message: impl Into<String>) -> Error {
    // The JS side moves `[CODE] message` into `err.code` (see lib/errors.js).
    Error::new(
        Status::GenericFailure,
        format!("[{code}] {}", message.into()),
    )
}

#[napi]
pub struct GraphStore {
    graphs: HashMap<u32, HeapGraph>,
    next_id: u32,
}

impl GraphStore {
    pub fn insert(&mut self, graph: HeapGraph) -> u32 {
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.graphs.insert(self.next_id, graph);
        self.next_id
    }

    fn take(&mut self, id: u32) -> Result<HeapGraph> {
        self.graphs
            .remove(&id)
            .ok_or_else(|| coded_error("ERR_HEAPDIFF_ENDED", format!("no open snapshot #{id}")))
    }
}

#[napi]
impl GraphStore {
    #[napi(constructor)]
    pub fn new() -> Self {
        Self {
            graphs: HashMap::new(),
            next_id: 0,
        }
    }

    /// Snapshots still held (HeapDiffs not yet ended).
    #[napi(getter)]
    pub fn open(&self) -> u32 {
        self.graphs.len() as u32
    }

    /// Nodes in a held snapshot (for the memory estimate of the next one).
    #[napi]
    pub fn node_count(&self, id: u32) -> u32 {
        self.graphs.get(&id).map_or(0, |g| g.node_count() as u32)
    }

    /// Parses a `.heapsnapshot` file (the fallback route) and holds it.
    #[napi(catch_unwind)]
    pub fn load_file(&mut self, path: String) -> Result<u32> {
        let file = std::fs::File::open(&path)
            .map_err(|e| coded_error("ERR_SNAPSHOT_READ", format!("{path}: {e}")))?;
        let graph = parse_heap_snapshot(std::io::BufReader::with_capacity(1 << 20, file))
            .map_err(|e| coded_error("ERR_SNAPSHOT_PARSE", format!("{path}: {e}")))?;
        Ok(self.insert(graph))
    }

    /// Drops a held snapshot (a HeapDiff collected without `end()`).
    #[napi]
    pub fn discard(&mut self, id: u32) -> bool {
        self.graphs.remove(&id).is_some()
    }

    /// memwatch class name -> node count of a held snapshot.
    #[napi(catch_unwind)]
    pub fn class_counts<'e>(&self, env: &'e Env, id: u32) -> Result<Object<'e>> {
        let g = self
            .graphs
            .get(&id)
            .ok_or_else(|| coded_error("ERR_HEAPDIFF_ENDED", format!("no open snapshot #{id}")))?;
        let mut counts: HashMap<&str, u64> = HashMap::new();
        for n in 0..g.node_count() as u32 {
            if let Some(c) = memwatch_class(g, n) {
                *counts.entry(c).or_default() += 1;
            }
        }
        let mut o = Object::new(env)?;
        for (k, v) in counts {
            o.set(k, v as f64)?;
        }
        Ok(o)
    }

    /// Diffs two held snapshots in memwatch's HeapDiff schema and releases
    /// both. With `examples > 0`, the top growing classes get up to that many
    /// sample objects with their shortest retainer path from the GC roots,
    /// and every row gets the retained size of its added objects (these need
    /// the `after` snapshot to have been taken with edges).
    /// `engine_apart` (internal, for memwatch.iterate): V8's compiled code
    /// and heap numbers are named `(compiled code)` and `(number)` instead of
    /// `Code` and `Number`, so user classes of those names stay apart.
    #[napi(catch_unwind)]
    pub fn diff<'e>(
        &mut self,
        env: &'e Env,
        before: u32,
        after: u32,
        examples: u32,
        engine_apart: Option<bool>,
    ) -> Result<Object<'e>> {
        let names = if engine_apart.unwrap_or(false) {
            DiffNames::EngineApart
        } else {
            DiffNames::Memwatch
        };
        let b = self.take(before)?;
        let a = self.take(after)?;
        // DevTools' rules, so retained sizes match what users see there.
        let dom = dominators_with_rules(&a, RetainRules::DevTools);
        let d = diff_named(&b, &a, &dom, names);
        // Classes that get examples: largest net growth first.
        let mut growing: Vec<&ClassChange> = d
            .details
            .iter()
            .filter(|r| r.added > 0 && r.size_bytes() > 0)
            .collect();
        growing.sort_by_key(|r| std::cmp::Reverse(r.size_bytes()));
        let growing: Vec<&str> = growing
            .iter()
            .take(EXAMPLE_CLASSES)
            .map(|r| r.what.as_str())
            .collect();
        let samples = if examples > 0 {
            added_samples_named(&b, &a, &growing, examples as usize, names)
        } else {
            Vec::new()
        };
        let paths = (examples > 0).then(|| RootPaths::compute(&a));
        let out = diff_object(env, &d, |row, o| {
            let Some(paths) = &paths else { return Ok(()) };
            o.set("retained_size_bytes", row.retained_added as f64)?;
            o.set("retained_size", nice_size(row.retained_added as f64))?;
            let Some(i) = growing.iter().position(|w| *w == row.what) else {
                return Ok(());
            };
            let mut list = Vec::new();
            for &node in samples.get(i).map(Vec::as_slice).unwrap_or(&[]) {
                let mut ex = Object::new(env)?;
                ex.set("id", a.node_id(node) as f64)?;
                ex.set("self_size", a.self_size(node) as f64)?;
                ex.set("retained_size", dom.retained_size(node) as f64)?;
                let path = paths.path_to(&a, node).map(|p| format_path(&a, &p));
                ex.set(
                    "path",
                    path.unwrap_or_else(|| "(unreachable from the GC roots)".into()),
                )?;
                list.push(ex);
            }
            o.set("examples", list)
        })?;
        drop((a, b, dom));
        release_memory();
        Ok(out)
    }
}

/// Hands memory freed by snapshots and graphs back to the OS: glibc keeps
/// freed heap pages otherwise, and a snapshot frees hundreds of megabytes.
#[napi]
pub fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages; any thread may call it.
    unsafe {
        libc::malloc_trim(0);
    }
}
