//! Heap graphs held for open HeapDiffs, and the diff turned into memwatch's
//! JSON shape. Graphs stay in Rust, addressed by a small integer: a HeapDiff
//! keeps a number, not a JS object, so it adds nothing to the heap it diffs.

use crate::convert::{DiffExample, DiffResult};
use crate::errors::{self, coded, guard, Result};
use memwatch_core::format::nice_size;
use memwatch_core::heap::{
    dominators_with_rules, parse_heap_snapshot, ClassChange, DiffBase, DiffNames, GraphDiff,
    HeapGraph, PathFormatter, PathStep, RetainRules, RetainerPath, RootPaths,
};
use std::collections::HashMap;

/// Classes (largest growth first) that get `examples` in `end({ examples })`.
const EXAMPLE_CLASSES: usize = 10;
/// Characters all example paths of one diff may take together (each path is
/// also cut to its first and last steps): `examples: 1000` on a deep list
/// must cost megabytes, not gigabytes.
const EXAMPLE_PATHS_CHARS: usize = 4 << 20;

/// The first snapshots of open HeapDiffs, as `DiffBase`s.
#[napi]
pub struct GraphStore {
    bases: HashMap<u32, DiffBase>,
    next_id: u32,
}

/// How a diff names classes: memwatch's schema, or (`engine_apart`, for
/// memwatch.iterate) with V8's code and heap numbers named `(compiled code)`
/// and `(number)`, apart from a user's classes named `Code` or `Number`.
pub fn naming(engine_apart: Option<bool>) -> DiffNames {
    if engine_apart == Some(true) {
        DiffNames::EngineApart
    } else {
        DiffNames::Memwatch
    }
}

fn parse_file(path: &str) -> Result<HeapGraph> {
    let file = std::fs::File::open(path)
        .map_err(|e| coded(errors::SNAPSHOT_READ, format!("{path}: {e}")))?;
    parse_heap_snapshot(std::io::BufReader::with_capacity(1 << 20, file))
        .map_err(|e| coded(errors::SNAPSHOT_PARSE, format!("{path}: {e}")))
}

impl GraphStore {
    pub fn insert(&mut self, base: DiffBase) -> u32 {
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.bases.insert(self.next_id, base);
        self.next_id
    }

    pub fn take(&mut self, id: u32) -> Result<DiffBase> {
        self.bases.remove(&id).ok_or_else(|| {
            coded(
                errors::HEAPDIFF_ENDED,
                format!("no open snapshot #{id} (the HeapDiff has ended)"),
            )
        })
    }
}

#[napi]
impl GraphStore {
    #[napi(constructor)]
    pub fn new() -> Self {
        Self {
            bases: HashMap::new(),
            next_id: 0,
        }
    }

    /// Snapshots still held (HeapDiffs not yet ended).
    #[napi(getter)]
    pub fn open(&self) -> u32 {
        self.bases.len() as u32
    }

    /// Nodes of a held snapshot (for the memory estimate of the next one).
    #[napi]
    pub fn node_count(&self, id: u32) -> f64 {
        self.bases
            .get(&id)
            .map_or(0.0, |b| b.snapshot_nodes() as f64)
    }

    /// Parses a `.heapsnapshot` file (the fallback route's first snapshot)
    /// and holds what a diff needs of it. `engine_apart`: see `naming`.
    #[napi]
    pub fn load_file(&mut self, path: String, engine_apart: Option<bool>) -> Result<u32> {
        guard(|| {
            let graph = parse_file(&path)?;
            Ok(self.insert(DiffBase::from_graph_named(&graph, naming(engine_apart))))
        })
    }

    /// Drops a held snapshot (a HeapDiff collected without `end()`).
    #[napi]
    pub fn discard(&mut self, id: u32) -> bool {
        self.bases.remove(&id).is_some()
    }

    /// memwatch class name -> node count of a held snapshot.
    #[napi(ts_return_type = "Record<string, number>")]
    pub fn class_counts(&self, id: u32) -> Result<HashMap<String, u32>> {
        guard(|| {
            let b = self
                .bases
                .get(&id)
                .ok_or_else(|| coded(errors::HEAPDIFF_ENDED, format!("no open snapshot #{id}")))?;
            Ok(b.class_counts()
                .into_iter()
                .map(|(name, n)| (name.to_owned(), n as u32))
                .collect())
        })
    }

    /// Diffs a held snapshot against a `.heapsnapshot` file (the fallback
    /// route's second snapshot) in memwatch's HeapDiff schema; releases the
    /// held one.
    #[napi]
    pub fn diff_file(&mut self, before: u32, path: String, examples: u32) -> Result<DiffResult> {
        guard(|| {
            let b = self.take(before)?;
            let mut a = parse_file(&path)?;
            let out = diff_result(&b, &mut a, examples, |_, _, _| {});
            drop((a, b));
            release_memory_in_background();
            Ok(out)
        })
    }
}

/// A counts-only diff (no `examples`) in memwatch's shape.
pub fn counts_result(d: &GraphDiff) -> DiffResult {
    DiffResult::new(d, |_, _| {})
}

/// The diff of `before` and `after` in memwatch's shape. With `examples >
/// 0`, the classes that grew most get up to that many sample objects with
/// their shortest retainer path from the GC roots, and every row gets the
/// retained size of its added objects (DevTools' rules, so the numbers match
/// what users see there; `after` must have edges). `name_steps` may fill in
/// names the graph lacks for the path steps, and the target, that a path
/// prints (the native walk reads those names only now).
pub fn diff_result(
    before: &DiffBase,
    after: &mut HeapGraph,
    examples: u32,
    mut name_steps: impl FnMut(&mut HeapGraph, &[&PathStep], u32),
) -> DiffResult {
    if examples == 0 {
        return DiffResult::new(&before.diff(after, None), |_, _| {});
    }
    let dom = dominators_with_rules(after, RetainRules::DevTools);
    let d = before.diff(after, Some(&dom));
    // Classes that get examples: largest net growth first.
    let mut growing: Vec<&ClassChange> = d
        .details
        .iter()
        .filter(|r| r.added > 0 && r.size_bytes() > 0)
        .collect();
    growing.sort_by_key(|r| std::cmp::Reverse(r.size_bytes()));
    let growing: Vec<String> = growing
        .iter()
        .take(EXAMPLE_CLASSES)
        .map(|r| r.what.clone())
        .collect();
    let names: Vec<&str> = growing.iter().map(String::as_str).collect();
    let samples = before.added_samples(after, &names, examples as usize);
    let paths: Vec<Vec<(u32, Option<RetainerPath>)>> = {
        let roots = RootPaths::compute(after);
        samples
            .iter()
            .map(|list| list.iter().map(|&n| (n, roots.path_to(after, n))).collect())
            .collect()
    };
    let mut formatter = PathFormatter::new().max_total_chars(EXAMPLE_PATHS_CHARS);
    for (node, path) in paths.iter().flatten() {
        if let Some(p) = path {
            name_steps(after, &formatter.printed_steps(p), *node);
        }
    }
    let after = &*after;
    let printed: Vec<Vec<DiffExample>> = paths
        .iter()
        .map(|list| {
            list.iter()
                .map(|(node, path)| DiffExample {
                    id: after.node_id(*node) as f64,
                    self_size: after.self_size(*node) as f64,
                    retained_size: dom.retained_size(*node) as f64,
                    path: path
                        .as_ref()
                        .map(|p| formatter.format(after, p))
                        .unwrap_or_else(|| "(unreachable from the GC roots)".into()),
                })
                .collect()
        })
        .collect();
    let mut printed = printed.into_iter().map(Some).collect::<Vec<_>>();
    DiffResult::new(&d, |row, out| {
        out.retained_size_bytes = Some(row.retained_added as f64);
        out.retained_size = Some(nice_size(row.retained_added as f64));
        if let Some(i) = growing.iter().position(|w| *w == row.what) {
            out.examples = printed.get_mut(i).and_then(Option::take);
        }
    })
}

/// `release_memory` on a short-lived thread of its own: `malloc_trim` walks
/// every arena (~0.1 s after a large snapshot) and needs no JS.
pub fn release_memory_in_background() {
    let spawned = std::thread::Builder::new()
        .name("memwatch-trim".into())
        .spawn(release_memory);
    if spawned.is_err() {
        release_memory();
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
