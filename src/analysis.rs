//! `.heapsnapshot` analysis for the CLI and `memwatch.analyzeSnapshot()`:
//! the graph engine run off the JS thread.
//!
//! A `SnapshotSource` starts parsing at once on its own thread, from a file
//! or from chunks that JS pushes (a stream, e.g. `v8.getHeapSnapshot()`),
//! and exposes the bytes read so far for a progress bar. The analyses are
//! `AsyncTask`s (libuv's pool) that wait for their sources' graphs; the
//! parse threads are separate, so a pushing stream can never wait on a busy pool.

use crate::convert::diff_object;
use crate::graphs::coded_error;
use memwatch_core::heap::{
    class_groups_with, diff_with, dominators_with_rules, leak_candidates_with,
    parse_heap_snapshot_with_progress, Classes, HeapGraph, ParseError, PathFormatter, RetainRules,
    RootPaths,
};
use napi::bindgen_prelude::*;
use napi::Task;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Chunks a stream may have queued before `push` waits for the parser.
const QUEUED_CHUNKS: usize = 64;

/// Characters all retainer paths of one result may take together (each path
/// is also cut to its first and last steps by `PathFormatter`).
const PATHS_OUTPUT_CHARS: usize = 4 << 20;

type ParseResult = std::result::Result<HeapGraph, String>;

/// Reads pushed chunks as one byte stream; ends when the sender is dropped.
struct ChunkReader {
    rx: Receiver<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.current.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.current = chunk;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn describe(name: &str, e: ParseError) -> String {
    format!("{name}: {e}")
}

/// A snapshot being parsed (on its own thread) into a graph.
#[napi]
pub struct SnapshotSource {
    read: Arc<AtomicU64>,
    total: Option<u64>,
    // In a Mutex so `end` takes `&self`: a stream's pump calls push/end
    // while an analysis may also hold the source.
    tx: Mutex<Option<SyncSender<Vec<u8>>>>,
    thread: Arc<Mutex<Option<JoinHandle<ParseResult>>>>,
}

fn spawn_parse(
    name: String,
    input: Box<dyn Read + Send>,
    read: Arc<AtomicU64>,
) -> Result<JoinHandle<ParseResult>> {
    std::thread::Builder::new()
        .name("memwatch-parse".into())
        .spawn(move || {
            let mut progress = |n: u64| read.store(n, Ordering::Relaxed);
            parse_heap_snapshot_with_progress(input, &mut progress).map_err(|e| describe(&name, e))
        })
        .map_err(|e| {
            coded_error(
                "ERR_SNAPSHOT_READ",
                format!("cannot start a parser thread: {e}"),
            )
        })
}

#[napi]
impl SnapshotSource {
    /// Starts parsing the file at `path`. Throws `[ERR_SNAPSHOT_READ]` if it
    /// cannot be opened.
    #[napi(factory, catch_unwind)]
    pub fn from_file(path: String) -> Result<Self> {
        let file = std::fs::File::open(&path)
            .map_err(|e| coded_error("ERR_SNAPSHOT_READ", format!("{path}: {e}")))?;
        let total = file.metadata().ok().map(|m| m.len());
        let read = Arc::new(AtomicU64::new(0));
        let thread = spawn_parse(path, Box::new(file), read.clone())?;
        Ok(Self {
            read,
            total,
            tx: Mutex::new(None),
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    /// Starts a parser fed by `push(chunk)` ... `end()`.
    #[napi(factory, catch_unwind)]
    pub fn from_chunks(name: String) -> Result<Self> {
        let (tx, rx) = sync_channel(QUEUED_CHUNKS);
        let read = Arc::new(AtomicU64::new(0));
        let reader = ChunkReader {
            rx,
            current: Vec::new(),
            pos: 0,
        };
        let thread = spawn_parse(name, Box::new(reader), read.clone())?;
        Ok(Self {
            read,
            total: None,
            tx: Mutex::new(Some(tx)),
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    /// Queues a chunk of the stream (copied). Returns false if the parser has
    /// already stopped (an error it will report, or `end()` was called).
    #[napi(catch_unwind)]
    pub fn push(&self, chunk: &[u8]) -> bool {
        // Cloned so the lock is not held while `send` waits for the parser.
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match tx {
            Some(tx) => tx.send(chunk.to_vec()).is_ok(),
            None => false,
        }
    }

    /// Ends the stream (idempotent).
    #[napi]
    pub fn end(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// Bytes parsed so far.
    #[napi(getter)]
    pub fn bytes_read(&self) -> f64 {
        self.read.load(Ordering::Relaxed) as f64
    }

    /// The file's size, or null for a stream.
    #[napi(getter)]
    pub fn total_bytes(&self) -> Option<f64> {
        self.total.map(|t| t as f64)
    }
}

/// Waits for a source's graph (once: a source is consumed by one analysis).
fn take_graph(
    thread: &Mutex<Option<JoinHandle<ParseResult>>>,
) -> std::result::Result<HeapGraph, String> {
    let handle = thread
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .ok_or_else(|| "[ERR_SNAPSHOT_USED] this snapshot was already analyzed".to_string())?;
    match handle.join() {
        Ok(r) => r.map_err(|m| format!("[ERR_SNAPSHOT_PARSE] {m}")),
        Err(_) => Err("[ERR_SNAPSHOT_PARSE] the parser stopped unexpectedly".to_string()),
    }
}

// ---- results (plain Rust; converted to JS in `resolve`) ----

pub struct GroupRow {
    name: String,
    count: u64,
    self_size: u64,
    retained_size: u64,
}

/// One row of `paths`: an object of the class and why it is alive.
pub struct PathRow {
    id: u32,
    self_size: u64,
    retained_size: u64,
    /// The object id of its immediate dominator (none for the root).
    dominator: Option<u32>,
    path: Option<String>,
}

pub enum Outcome {
    Analyze {
        nodes: u64,
        edges: u64,
        self_size: u64,
        groups: Vec<GroupRow>,
        group_count: u64,
    },
    Diff(memwatch_core::heap::GraphDiff, u64, u64),
    Leaks(Vec<(GroupRow, Option<String>)>),
    Paths {
        class: String,
        matched: u64,
        paths: Vec<PathRow>,
    },
}

pub enum Job {
    Analyze { top: u32 },
    Diff,
    Leaks,
    Paths { class: String, limit: u32 },
}

pub struct AnalysisTask {
    sources: Vec<Arc<Mutex<Option<JoinHandle<ParseResult>>>>>,
    job: Job,
}

fn group_object<'e>(env: &'e Env, g: &GroupRow) -> Result<Object<'e>> {
    let mut o = Object::new(env)?;
    o.set("name", g.name.as_str())?;
    o.set("count", g.count as f64)?;
    o.set("self_size", g.self_size as f64)?;
    o.set("retained_size", g.retained_size as f64)?;
    Ok(o)
}

impl AnalysisTask {
    fn run(&self) -> std::result::Result<Outcome, String> {
        let mut graphs = Vec::with_capacity(self.sources.len());
        for s in &self.sources {
            graphs.push(take_graph(s)?);
        }
        let last = graphs.last().ok_or("no snapshot given")?;
        Ok(match &self.job {
            Job::Analyze { top } => {
                let dom = dominators_with_rules(last, RetainRules::DevTools);
                let all = class_groups_with(last, &dom);
                let group_count = all.len() as u64;
                let groups = all
                    .into_iter()
                    .take(*top as usize)
                    .map(|g| GroupRow {
                        name: g.name,
                        count: g.count,
                        self_size: g.self_size,
                        retained_size: g.retained_size,
                    })
                    .collect();
                Outcome::Analyze {
                    nodes: last.node_count() as u64,
                    edges: last.edge_count() as u64,
                    self_size: last.self_sizes().fold(0u64, |sum, s| sum.saturating_add(s)),
                    groups,
                    group_count,
                }
            }
            Job::Diff => {
                let (before, after) = (&graphs[0], &graphs[1]);
                let dom = dominators_with_rules(after, RetainRules::DevTools);
                Outcome::Diff(
                    diff_with(before, after, &dom),
                    before.node_count() as u64,
                    after.node_count() as u64,
                )
            }
            Job::Leaks => {
                let dom = dominators_with_rules(last, RetainRules::DevTools);
                let groups = leak_candidates_with(&graphs[0], &graphs[1], last, &dom);
                let mut formatter = PathFormatter::new().max_total_chars(PATHS_OUTPUT_CHARS);
                Outcome::Leaks(
                    groups
                        .into_iter()
                        .map(|g| {
                            let path = g.path.as_ref().map(|p| formatter.format(last, p));
                            (
                                GroupRow {
                                    name: g.name,
                                    count: g.count,
                                    self_size: g.self_size,
                                    retained_size: g.retained_size,
                                },
                                path,
                            )
                        })
                        .collect(),
                )
            }
            Job::Paths { class, limit } => {
                let dom = dominators_with_rules(last, RetainRules::DevTools);
                let classes = Classes::devtools(last);
                let roots = RootPaths::compute(last);
                let mut formatter = PathFormatter::new().max_total_chars(PATHS_OUTPUT_CHARS);
                let mut matched = 0u64;
                let mut paths = Vec::new();
                for n in 0..last.node_count() as u32 {
                    // DevTools' Summary rows: its class, a non-zero size.
                    if classes.name_of(n) != class || dom.self_size(last, n) == 0 {
                        continue;
                    }
                    matched += 1;
                    if paths.len() < *limit as usize {
                        let p = roots.path_to(last, n).map(|p| formatter.format(last, &p));
                        let dominator = dom.immediate_dominator(n).map(|d| last.node_id(d));
                        paths.push(PathRow {
                            id: last.node_id(n),
                            self_size: dom.self_size(last, n),
                            retained_size: dom.retained_size(n),
                            dominator,
                            path: p,
                        });
                    }
                }
                Outcome::Paths {
                    class: class.clone(),
                    matched,
                    paths,
                }
            }
        })
    }
}

impl Task for AnalysisTask {
    type Output = Outcome;
    type JsValue = Object<'static>;

    fn compute(&mut self) -> Result<Self::Output> {
        let job = AssertUnwindSafeTask(self);
        match std::panic::catch_unwind(move || job.0.run()) {
            Ok(Ok(o)) => Ok(o),
            Ok(Err(m)) => Err(Error::new(Status::GenericFailure, m)),
            Err(_) => Err(Error::new(
                Status::GenericFailure,
                "[ERR_SNAPSHOT_PARSE] the analysis stopped unexpectedly (a bug: please report it)",
            )),
        }
    }

    fn resolve(&mut self, env: Env, out: Self::Output) -> Result<Self::JsValue> {
        // `Object<'env>` keeps only the raw napi_env handle (the lifetime is a
        // marker), and the object goes to JS before this call returns, so a
        // 'static borrow of the local `Env` copy is never dereferenced late.
        // SAFETY: see above.
        let env: &'static Env = unsafe { &*(&env as *const Env) };
        let mut o = Object::new(env)?;
        match out {
            Outcome::Analyze {
                nodes,
                edges,
                self_size,
                groups,
                group_count,
            } => {
                o.set("nodes", nodes as f64)?;
                o.set("edges", edges as f64)?;
                o.set("self_size", self_size as f64)?;
                o.set("class_count", group_count as f64)?;
                let rows: Result<Vec<_>> = groups.iter().map(|g| group_object(env, g)).collect();
                o.set("groups", rows?)?;
            }
            Outcome::Diff(d, before_nodes, after_nodes) => {
                o = diff_object(env, &d, |row, x| {
                    x.set("retained_size_bytes", row.retained_added as f64)
                })?;
                // The nodes of each whole snapshot, next to the counted ones.
                for (side, all) in [("before", before_nodes), ("after", after_nodes)] {
                    if let Some(mut s) = o.get::<Object>(side)? {
                        s.set("snapshot_nodes", all as f64)?;
                    }
                }
            }
            Outcome::Leaks(groups) => {
                let mut rows = Vec::with_capacity(groups.len());
                for (g, path) in &groups {
                    let mut x = group_object(env, g)?;
                    x.set("path", path.as_deref())?;
                    rows.push(x);
                }
                o.set("leaks", rows)?;
            }
            Outcome::Paths {
                class,
                matched,
                paths,
            } => {
                o.set("class", class.as_str())?;
                o.set("count", matched as f64)?;
                let mut rows = Vec::with_capacity(paths.len());
                for row in &paths {
                    let mut x = Object::new(env)?;
                    x.set("id", row.id as f64)?;
                    x.set("self_size", row.self_size as f64)?;
                    x.set("retained_size", row.retained_size as f64)?;
                    x.set("dominator_id", row.dominator.map(f64::from))?;
                    x.set("path", row.path.as_deref())?;
                    rows.push(x);
                }
                o.set("paths", rows)?;
            }
        }
        Ok(o)
    }
}

struct AssertUnwindSafeTask<'a>(&'a AnalysisTask);
impl std::panic::UnwindSafe for AssertUnwindSafeTask<'_> {}

fn task(sources: &[&SnapshotSource], job: Job) -> AsyncTask<AnalysisTask> {
    AsyncTask::new(AnalysisTask {
        sources: sources.iter().map(|s| s.thread.clone()).collect(),
        job,
    })
}

/// Class groups (DevTools naming) with counts, self and retained sizes;
/// the `top` largest by retained size.
#[napi(ts_return_type = "Promise<object>")]
pub fn analyze_source(source: &SnapshotSource, top: u32) -> AsyncTask<AnalysisTask> {
    task(&[source], Job::Analyze { top })
}

/// Two snapshots of one process diffed by object id (memwatch's details).
#[napi(ts_return_type = "Promise<object>")]
pub fn diff_sources(before: &SnapshotSource, after: &SnapshotSource) -> AsyncTask<AnalysisTask> {
    task(&[before, after], Job::Diff)
}

/// memlab-style leak candidates: in target, not in baseline, still in final.
#[napi(ts_return_type = "Promise<object>")]
pub fn leak_sources(
    baseline: &SnapshotSource,
    target: &SnapshotSource,
    last: &SnapshotSource,
) -> AsyncTask<AnalysisTask> {
    task(&[baseline, target, last], Job::Leaks)
}

/// Retainer paths of up to `limit` nodes of a class (DevTools naming).
#[napi(ts_return_type = "Promise<object>")]
pub fn path_sources(
    source: &SnapshotSource,
    class_name: String,
    limit: u32,
) -> AsyncTask<AnalysisTask> {
    task(
        &[source],
        Job::Paths {
            class: class_name,
            limit,
        },
    )
}
