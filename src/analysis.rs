//! `.heapsnapshot` analysis for the CLI and `memwatch.analyzeSnapshot()`:
//! the graph engine run on threads of memwatch's own.
//!
//! A `SnapshotSource` starts parsing at once on its own thread, from a file
//! or from chunks that JS pushes (a stream, e.g. `v8.getHeapSnapshot()`).
//! An analysis job runs on one more thread that waits for its sources'
//! graphs, computes, and wakes JS through a threadsafe function; JS then
//! takes the result with `job.result()`.
//!
//! Why not libuv's pool (`napi::Task`): a pool thread that waits for a
//! parser fed by JS blocks the pool, and a stream that itself needs the pool
//! (`fs.createReadStream`) then deadlocks it; libuv also joins pool threads
//! at exit, so `process.exit()` hung behind a stream that never ended. No
//! thread here is ever joined by Node, and none waits on the pool.

use crate::convert::DiffResult;
use crate::errors::{self, coded, guard, Code, OrInternal, Result};
use memwatch_core::heap::{
    class_groups_with, diff_with, dominators_with_rules, leak_candidates_with,
    parse_heap_snapshot_with_progress, Classes, HeapGraph, PathFormatter, RetainRules, RootPaths,
};
use napi::bindgen_prelude::*;
use napi::{sys, JsValue};
use std::ffi::c_void;
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Chunks a stream may have queued before `push` waits for the parser (a
/// few MB: the parser reads faster than a stream delivers).
const QUEUED_CHUNKS: usize = 64;

/// Characters all retainer paths of one result may take together (each path
/// is also cut to its first and last steps by `PathFormatter`).
const PATHS_OUTPUT_CHARS: usize = 4 << 20;

type Failure = (Code, String);
type ParseResult = std::result::Result<HeapGraph, Failure>;

fn aborted() -> Failure {
    (errors::ABORT, "the operation was aborted".into())
}

/// Reads pushed chunks as one byte stream; ends when the sender is dropped,
/// fails once the source is aborted.
struct ChunkReader {
    rx: Receiver<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    cancel: Arc<AtomicBool>,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.current.len() {
            if self.cancel.load(Ordering::Relaxed) {
                return Err(std::io::Error::other("aborted"));
            }
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

/// A file read that stops once its source is aborted.
struct CancellableFile {
    file: std::fs::File,
    cancel: Arc<AtomicBool>,
}

impl Read for CancellableFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("aborted"));
        }
        self.file.read(buf)
    }
}

/// The sender of a streamed source's chunks: shared by the source (`end`
/// drops it) and its job (`abort` drops it), so the parser stops waiting.
type ChunkSender = Arc<Mutex<Option<SyncSender<Vec<u8>>>>>;

/// A snapshot being parsed (on its own thread) into a graph.
#[napi]
pub struct SnapshotSource {
    read: Arc<AtomicU64>,
    total: Option<u64>,
    cancel: Arc<AtomicBool>,
    // Shared with the job, which drops it on abort so the parser stops
    // waiting for chunks; in a Mutex so `end` takes `&self`.
    tx: ChunkSender,
    thread: Arc<Mutex<Option<JoinHandle<ParseResult>>>>,
}

fn spawn_parse(
    name: String,
    input: Box<dyn Read + Send>,
    read: Arc<AtomicU64>,
    cancel: Arc<AtomicBool>,
) -> Result<JoinHandle<ParseResult>> {
    std::thread::Builder::new()
        .name("memwatch-parse".into())
        .spawn(move || {
            let mut progress = |n: u64| read.store(n, Ordering::Relaxed);
            let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                parse_heap_snapshot_with_progress(input, &mut progress)
            }));
            if cancel.load(Ordering::Relaxed) {
                return Err(aborted());
            }
            match parsed {
                Ok(Ok(g)) => Ok(g),
                Ok(Err(e)) => Err((errors::SNAPSHOT_PARSE, format!("{name}: {e}"))),
                Err(_) => Err((
                    errors::INTERNAL,
                    format!("{name}: the parser stopped unexpectedly (a bug: please report it)"),
                )),
            }
        })
        .map_err(|e| {
            coded(
                errors::SNAPSHOT_READ,
                format!("cannot start a parser thread: {e}"),
            )
        })
}

#[napi]
impl SnapshotSource {
    /// Starts parsing the file at `path`. Throws `ERR_SNAPSHOT_READ` if it
    /// cannot be opened.
    #[napi(factory)]
    pub fn from_file(path: String) -> Result<Self> {
        guard(|| {
            let file = std::fs::File::open(&path)
                .map_err(|e| coded(errors::SNAPSHOT_READ, format!("{path}: {e}")))?;
            let total = file.metadata().ok().map(|m| m.len());
            let read = Arc::new(AtomicU64::new(0));
            let cancel = Arc::new(AtomicBool::new(false));
            let input = CancellableFile {
                file,
                cancel: cancel.clone(),
            };
            let thread = spawn_parse(path, Box::new(input), read.clone(), cancel.clone())?;
            Ok(Self {
                read,
                total,
                cancel,
                tx: Arc::new(Mutex::new(None)),
                thread: Arc::new(Mutex::new(Some(thread))),
            })
        })
    }

    /// Starts a parser fed by `push(chunk)` ... `end()`.
    #[napi(factory)]
    pub fn from_chunks(name: String) -> Result<Self> {
        guard(|| {
            let (tx, rx) = sync_channel(QUEUED_CHUNKS);
            let read = Arc::new(AtomicU64::new(0));
            let cancel = Arc::new(AtomicBool::new(false));
            let reader = ChunkReader {
                rx,
                current: Vec::new(),
                pos: 0,
                cancel: cancel.clone(),
            };
            let thread = spawn_parse(name, Box::new(reader), read.clone(), cancel.clone())?;
            Ok(Self {
                read,
                total: None,
                cancel,
                tx: Arc::new(Mutex::new(Some(tx))),
                thread: Arc::new(Mutex::new(Some(thread))),
            })
        })
    }

    /// Queues a chunk of the stream (copied). Returns false if the parser has
    /// already stopped (an error it will report, `end()` or `abort()`).
    /// Waits only while the parser is `QUEUED_CHUNKS` chunks behind; the
    /// parser never waits on JS while JS waits here.
    #[napi]
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

    /// Stops the parser as soon as it next reads, and frees what it parsed.
    #[napi]
    pub fn abort(&self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.end();
    }

    /// Whether JS still feeds this source (a stream not yet ended).
    fn streaming(&self) -> bool {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).is_some()
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

/// Waits (on the job's thread) for a source's graph; a source is consumed
/// by one analysis.
fn take_graph(thread: &Mutex<Option<JoinHandle<ParseResult>>>) -> ParseResult {
    let handle = thread
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .ok_or_else(|| {
            (
                errors::SNAPSHOT_USED,
                "this snapshot source was already analyzed".to_string(),
            )
        })?;
    handle.join().unwrap_or_else(|_| {
        Err((
            errors::INTERNAL,
            "the parser stopped unexpectedly (a bug: please report it)".into(),
        ))
    })
}

// ---- results ----

/// One class of a snapshot (DevTools' Summary view).
#[napi(object)]
#[derive(Clone)]
pub struct ClassGroupRow {
    pub name: String,
    pub count: f64,
    #[napi(js_name = "self_size")]
    pub self_size: f64,
    #[napi(js_name = "retained_size")]
    pub retained_size: f64,
}

#[napi(object)]
pub struct AnalyzeResult {
    pub nodes: f64,
    pub edges: f64,
    #[napi(js_name = "self_size")]
    pub self_size: f64,
    #[napi(js_name = "class_count")]
    pub class_count: f64,
    pub groups: Vec<ClassGroupRow>,
}

#[napi(object)]
pub struct LeakRow {
    pub name: String,
    pub count: f64,
    #[napi(js_name = "self_size")]
    pub self_size: f64,
    #[napi(js_name = "retained_size")]
    pub retained_size: f64,
    pub path: Option<String>,
}

#[napi(object)]
pub struct LeaksResult {
    pub leaks: Vec<LeakRow>,
}

#[napi(object)]
pub struct PathRow {
    pub id: f64,
    /// The object id of its immediate dominator (null for the root).
    #[napi(js_name = "dominator_id")]
    pub dominator_id: Option<f64>,
    #[napi(js_name = "self_size")]
    pub self_size: f64,
    #[napi(js_name = "retained_size")]
    pub retained_size: f64,
    pub path: Option<String>,
}

#[napi(object)]
pub struct PathsResult {
    pub class: String,
    pub count: f64,
    pub paths: Vec<PathRow>,
}

enum Outcome {
    Analyze(AnalyzeResult),
    Diff(DiffResult),
    Leaks(LeaksResult),
    Paths(PathsResult),
}

enum Job {
    Analyze { top: u32 },
    Diff,
    Leaks,
    Paths { class: String, limit: u32 },
}

fn run(
    job: &Job,
    graphs: &[HeapGraph],
    cancel: &AtomicBool,
) -> std::result::Result<Outcome, Failure> {
    let last = graphs
        .last()
        .ok_or((errors::INTERNAL, "no snapshot given".into()))?;
    let check = || {
        if cancel.load(Ordering::Relaxed) {
            Err(aborted())
        } else {
            Ok(())
        }
    };
    let dom = dominators_with_rules(last, RetainRules::DevTools);
    check()?;
    Ok(match job {
        Job::Analyze { top } => {
            let all = class_groups_with(last, &dom);
            let class_count = all.len() as f64;
            let groups = all
                .into_iter()
                .take(*top as usize)
                .map(|g| ClassGroupRow {
                    name: g.name,
                    count: g.count as f64,
                    self_size: g.self_size as f64,
                    retained_size: g.retained_size as f64,
                })
                .collect();
            Outcome::Analyze(AnalyzeResult {
                nodes: last.node_count() as f64,
                edges: last.edge_count() as f64,
                self_size: last.self_sizes().fold(0u64, |sum, s| sum.saturating_add(s)) as f64,
                class_count,
                groups,
            })
        }
        Job::Diff => {
            let (before, after) = (&graphs[0], &graphs[1]);
            let d = diff_with(before, after, &dom);
            let mut out = DiffResult::new(&d, |row, r| {
                r.retained_size_bytes = Some(row.retained_added as f64);
            });
            // The nodes of each whole snapshot, next to the counted ones.
            out.before.snapshot_nodes = Some(before.node_count() as f64);
            out.after.snapshot_nodes = Some(after.node_count() as f64);
            Outcome::Diff(out)
        }
        Job::Leaks => {
            let groups = leak_candidates_with(&graphs[0], &graphs[1], last, &dom);
            check()?;
            let mut formatter = PathFormatter::new().max_total_chars(PATHS_OUTPUT_CHARS);
            Outcome::Leaks(LeaksResult {
                leaks: groups
                    .into_iter()
                    .map(|g| LeakRow {
                        path: g.path.as_ref().map(|p| formatter.format(last, p)),
                        name: g.name,
                        count: g.count as f64,
                        self_size: g.self_size as f64,
                        retained_size: g.retained_size as f64,
                    })
                    .collect(),
            })
        }
        Job::Paths { class, limit } => {
            let classes = Classes::devtools(last);
            let roots = RootPaths::compute(last);
            check()?;
            let mut formatter = PathFormatter::new().max_total_chars(PATHS_OUTPUT_CHARS);
            let mut count = 0u64;
            let mut paths = Vec::new();
            for n in 0..last.node_count() as u32 {
                // DevTools' Summary rows: its class, a non-zero size.
                if classes.name_of(n) != class || dom.self_size(last, n) == 0 {
                    continue;
                }
                count += 1;
                if paths.len() < *limit as usize {
                    paths.push(PathRow {
                        id: last.node_id(n) as f64,
                        dominator_id: dom.immediate_dominator(n).map(|d| last.node_id(d) as f64),
                        self_size: dom.self_size(last, n) as f64,
                        retained_size: dom.retained_size(n) as f64,
                        path: roots.path_to(last, n).map(|p| formatter.format(last, &p)),
                    });
                }
            }
            Outcome::Paths(PathsResult {
                class: class.clone(),
                count: count as f64,
                paths,
            })
        }
    })
}

// ---- completion: one call into JS from the job's thread ----

/// A threadsafe function called once, from the job's thread, when the
/// result is ready. `alive` goes false when Node finalizes the function
/// (environment teardown: a worker that exits, the process ending), and the
/// job thread holds the lock while it calls, so it never touches a
/// finalized function.
struct Completion {
    tsfn: AtomicPtr<c_void>,
    alive: Mutex<bool>,
}

// The handle is used from the job thread only through
// napi_call/release_threadsafe_function, which Node allows from any thread.
unsafe impl Send for Completion {}
unsafe impl Sync for Completion {}

unsafe extern "C" fn completion_finalize(
    _env: sys::napi_env,
    data: *mut c_void,
    _hint: *mut c_void,
) {
    // SAFETY: `data` is the Arc handed over in `Completion::new`; Node calls
    // the finalizer once.
    let c = unsafe { Arc::from_raw(data as *const Completion) };
    *c.alive.lock().unwrap_or_else(|e| e.into_inner()) = false;
}

impl Completion {
    unsafe fn new(env: sys::napi_env, callback: sys::napi_value) -> napi::Result<Arc<Self>> {
        let mut name = std::ptr::null_mut();
        let label = "memwatch.analysis";
        crate::notify::check(sys::napi_create_string_utf8(
            env,
            label.as_ptr() as *const _,
            label.len() as isize,
            &mut name,
        ))?;
        let mut tsfn = std::ptr::null_mut();
        // The finalizer data is created first, then given the handle: Node
        // needs the data at creation, and the struct needs the handle.
        let c = Arc::new(Completion {
            tsfn: AtomicPtr::new(std::ptr::null_mut()),
            alive: Mutex::new(true),
        });
        let raw = Arc::into_raw(c.clone()) as *mut c_void;
        let status = sys::napi_create_threadsafe_function(
            env,
            callback,
            std::ptr::null_mut(),
            name,
            0,
            1,
            raw,
            Some(completion_finalize),
            std::ptr::null_mut(),
            // The JS callback catches its own errors (lib/analyze.js).
            Some(crate::notify::call_js),
            &mut tsfn,
        );
        if status != sys::Status::napi_ok {
            drop(Arc::from_raw(raw as *const Completion));
            crate::notify::check(status)?;
        }
        c.tsfn.store(tsfn as *mut c_void, Ordering::Release);
        Ok(c)
    }

    fn handle(&self) -> sys::napi_threadsafe_function {
        self.tsfn.load(Ordering::Acquire) as sys::napi_threadsafe_function
    }

    /// From the job's thread: queue the JS call and let go of the function.
    fn fire(&self) {
        let alive = self.alive.lock().unwrap_or_else(|e| e.into_inner());
        if *alive {
            // SAFETY: not finalized (checked under the lock the finalizer
            // needs); nonblocking, so this never waits on the JS thread.
            unsafe {
                sys::napi_call_threadsafe_function(
                    self.handle(),
                    std::ptr::null_mut(),
                    sys::ThreadsafeFunctionCallMode::nonblocking,
                );
                sys::napi_release_threadsafe_function(
                    self.handle(),
                    sys::ThreadsafeFunctionReleaseMode::release,
                );
            }
        }
    }

    /// Whether a pending job keeps the event loop alive (JS thread only).
    unsafe fn keep_alive(&self, env: sys::napi_env, on: bool) {
        let alive = self.alive.lock().unwrap_or_else(|e| e.into_inner());
        if *alive {
            if on {
                sys::napi_ref_threadsafe_function(env, self.handle());
            } else {
                sys::napi_unref_threadsafe_function(env, self.handle());
            }
        }
    }
}

struct JobState {
    result: Mutex<Option<std::result::Result<Outcome, Failure>>>,
    cancel: Arc<AtomicBool>,
}

/// An analysis running on its own thread. `onDone` (given at start) is
/// called once when `result()` is ready.
#[napi]
pub struct AnalysisJob {
    state: Arc<JobState>,
    completion: Arc<Completion>,
    /// The sources' cancel flags and stream senders, for `abort`.
    sources: Vec<(Arc<AtomicBool>, ChunkSender)>,
}

fn start(
    env: &Env,
    sources: &[&SnapshotSource],
    job: Job,
    on_done: Function<(), ()>,
) -> Result<AnalysisJob> {
    guard(|| {
        // SAFETY: valid env and function for this call.
        let completion = unsafe { Completion::new(env.raw(), on_done.raw()) }.or_internal()?;
        // A stream's job does not hold the process open while JS still has
        // to feed it (a stream that never ends must not keep a process
        // alive); JS calls keepAlive() once the streams have ended.
        let streaming = sources.iter().any(|s| s.streaming());
        if streaming {
            // SAFETY: JS thread, live function.
            unsafe { completion.keep_alive(env.raw(), false) };
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let state = Arc::new(JobState {
            result: Mutex::new(None),
            cancel: cancel.clone(),
        });
        let parse_threads: Vec<_> = sources.iter().map(|s| s.thread.clone()).collect();
        let (st, done) = (state.clone(), completion.clone());
        std::thread::Builder::new()
            .name("memwatch-analysis".into())
            .spawn(move || {
                let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let mut graphs = Vec::with_capacity(parse_threads.len());
                    let mut failure = None;
                    for t in &parse_threads {
                        // Every parser is joined, so each frees its graph or error.
                        match take_graph(t) {
                            Ok(g) => graphs.push(g),
                            Err(f) => {
                                failure.get_or_insert(f);
                            }
                        }
                    }
                    if st.cancel.load(Ordering::Relaxed) {
                        return Err(aborted());
                    }
                    if let Some(f) = failure {
                        return Err(f);
                    }
                    run(&job, &graphs, &st.cancel)
                }))
                .unwrap_or_else(|_| {
                    Err((
                        errors::INTERNAL,
                        "the analysis stopped unexpectedly (a bug: please report it)".into(),
                    ))
                });
                *st.result.lock().unwrap_or_else(|e| e.into_inner()) = Some(out);
                done.fire();
            })
            .map_err(|e| {
                coded(
                    errors::INTERNAL,
                    format!("cannot start an analysis thread: {e}"),
                )
            })?;
        Ok(AnalysisJob {
            state,
            completion,
            sources: sources
                .iter()
                .map(|s| (s.cancel.clone(), s.tx.clone()))
                .collect(),
        })
    })
}

#[napi]
impl AnalysisJob {
    /// The result once `onDone` was called: an object, or a thrown error
    /// with `code` (`ERR_SNAPSHOT_PARSE`, `ERR_SNAPSHOT_READ`, `ABORT_ERR`).
    #[napi(ts_return_type = "AnalyzeResult | DiffResult | LeaksResult | PathsResult")]
    pub fn result(&self) -> Result<Either4<AnalyzeResult, DiffResult, LeaksResult, PathsResult>> {
        guard(|| {
            let taken = self
                .state
                .result
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            match taken {
                None => Err(coded(errors::INTERNAL, "the analysis has not finished")),
                Some(Err((code, message))) => Err(coded(code, message)),
                Some(Ok(Outcome::Analyze(r))) => Ok(Either4::A(r)),
                Some(Ok(Outcome::Diff(r))) => Ok(Either4::B(r)),
                Some(Ok(Outcome::Leaks(r))) => Ok(Either4::C(r)),
                Some(Ok(Outcome::Paths(r))) => Ok(Either4::D(r)),
            }
        })
    }

    /// Stops the parsers and the analysis; `onDone` still comes, with an
    /// `ABORT_ERR` result, once the threads have let go of their memory.
    #[napi]
    pub fn abort(&self) {
        self.state.cancel.store(true, Ordering::Relaxed);
        for (cancel, tx) in &self.sources {
            cancel.store(true, Ordering::Relaxed);
            tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        }
    }

    /// Holds the event loop open until the result arrives (JS calls this
    /// once every stream it feeds has ended).
    #[napi]
    pub fn keep_alive(&self, env: &Env) {
        // SAFETY: JS thread.
        unsafe { self.completion.keep_alive(env.raw(), true) };
    }
}

/// Class groups (DevTools naming) with counts, self and retained sizes;
/// the `top` largest by retained size.
#[napi]
pub fn analyze_source(
    env: &Env,
    source: &SnapshotSource,
    top: u32,
    on_done: Function<(), ()>,
) -> Result<AnalysisJob> {
    start(env, &[source], Job::Analyze { top }, on_done)
}

/// Two snapshots of one process diffed by object id (memwatch's details).
#[napi]
pub fn diff_sources(
    env: &Env,
    before: &SnapshotSource,
    after: &SnapshotSource,
    on_done: Function<(), ()>,
) -> Result<AnalysisJob> {
    start(env, &[before, after], Job::Diff, on_done)
}

/// memlab-style leak candidates: in target, not in baseline, still in final.
#[napi]
pub fn leak_sources(
    env: &Env,
    baseline: &SnapshotSource,
    target: &SnapshotSource,
    last: &SnapshotSource,
    on_done: Function<(), ()>,
) -> Result<AnalysisJob> {
    start(env, &[baseline, target, last], Job::Leaks, on_done)
}

/// Retainer paths of up to `limit` nodes of a class (DevTools naming).
#[napi]
pub fn path_sources(
    env: &Env,
    source: &SnapshotSource,
    class_name: String,
    limit: u32,
    on_done: Function<(), ()>,
) -> Result<AnalysisJob> {
    start(
        env,
        &[source],
        Job::Paths {
            class: class_name,
            limit,
        },
        on_done,
    )
}
