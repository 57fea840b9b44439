//! Allocation sites from V8's sampling heap profiler, in plain Rust.
//!
//! V8's sampling heap profiler samples one allocation per `interval` bytes
//! (on average) with its JS stack, and keeps a sample only while the object
//! lives. Its profile is a call tree whose nodes carry the estimated bytes of
//! their own live samples (V8 scales each sample up by the interval). Both
//! routes that read it — the native binding (`GetAllocationProfile`, walked
//! in `src/v8/sampling.rs`) and the inspector (`HeapProfiler.getSamplingProfile`)
//! — hand the tree to a [`ProfileBuilder`]; this module does the rest:
//!
//! - [`Frames`]: one id per function position (script id + start position),
//!   so a function's name and URL are read from V8 once, not on every read;
//!   and one id per *site* (function name, URL, line, column).
//! - [`SiteTracker`]: live bytes per site at each read, the growth of each
//!   site between two reads (a `leak` window), the stack of a site, the
//!   latest tree as a `.heapprofile`, and the start-up canary check.
//!
//! A site is the allocating function, merged over the paths that call it
//! (DevTools' "Bottom Up" view); its `stack` is the path that holds the
//! most live bytes.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;

use crate::heap::push_json_quoted;
use rustc_hash::FxHashMap;

/// `parent` of the root node.
pub const NO_PARENT: u32 = u32::MAX;
/// Nodes accepted in one profile: far above any real tree (V8 caps stacks at
/// the configured depth), low enough that a misread tree cannot exhaust memory.
pub const MAX_NODES: usize = 4_000_000;
/// Samples accepted in one profile.
pub const MAX_SAMPLES: usize = 16_000_000;
/// Reads kept to find a leak window's baseline.
pub const READS_KEPT: usize = 12;
/// Strings kept across reads before the frame cache starts over (a program
/// that evaluates endless fresh code must not grow the cache forever).
const MAX_STRINGS: usize = 1 << 20;
/// `line`/`column` V8 gives when it has none (`kNoLineNumberInfo`, 1-based APIs).
pub const NO_POSITION: i32 = 0;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SitesError {
    TooManyNodes,
    TooManySamples,
    /// A node's parent index does not name an earlier node.
    BadParent(u32),
    /// The first node is not a root, or a later one is.
    BadRoot,
}

impl std::fmt::Display for SitesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SitesError::TooManyNodes => write!(f, "profile has more than {MAX_NODES} nodes"),
            SitesError::TooManySamples => {
                write!(f, "profile has more than {MAX_SAMPLES} samples")
            }
            SitesError::BadParent(p) => {
                write!(f, "profile node names parent {p}, not an earlier node")
            }
            SitesError::BadRoot => write!(f, "profile tree does not start with exactly one root"),
        }
    }
}

impl std::error::Error for SitesError {}

/// One function position of a profile: where a frame's function starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// String ids (in [`Frames`]).
    pub function: u32,
    pub url: u32,
    /// V8's script id (0: no script, e.g. "(root)", "(V8 API)").
    pub script_id: i32,
    /// 1-based, [`NO_POSITION`] when unknown.
    pub line: i32,
    pub column: i32,
    /// The site this frame belongs to.
    pub site: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct SiteKey {
    function: u32,
    url: u32,
    line: i32,
    column: i32,
}

/// Function names, URLs, frames and sites, kept across reads.
#[derive(Debug, Default)]
pub struct Frames {
    strings: Vec<Box<str>>,
    string_ids: HashMap<Box<str>, u32>,
    frames: Vec<Frame>,
    /// (script id, start position) -> frame, for functions with a script.
    by_position: HashMap<(i32, i32), u32>,
    /// Frames of script-less nodes, by name.
    by_name: HashMap<u32, u32>,
    /// Frames without a known start position (the inspector's), by script
    /// id, line, column and name.
    by_place: HashMap<(i32, i32, i32, u32), u32>,
    sites: Vec<SiteKey>,
    site_ids: HashMap<SiteKey, u32>,
}

impl Frames {
    pub fn string(&self, id: u32) -> &str {
        self.strings.get(id as usize).map_or("", |s| s)
    }

    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.string_ids.get(s) {
            return id;
        }
        let id = self.strings.len() as u32;
        let boxed: Box<str> = s.into();
        self.strings.push(boxed.clone());
        self.string_ids.insert(boxed, id);
        id
    }

    pub fn frame(&self, id: u32) -> Option<&Frame> {
        self.frames.get(id as usize)
    }

    pub fn site_count(&self) -> usize {
        self.sites.len()
    }

    /// Too many strings: forget everything (frame ids in held profiles then
    /// no longer resolve, so the tracker drops those too).
    fn over_budget(&self) -> bool {
        self.strings.len() > MAX_STRINGS
    }
}

/// One node of a profile tree. Nodes are in pre-order: a parent comes
/// before its children, the root first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProfileNode {
    pub parent: u32,
    pub frame: u32,
    /// V8's node id (what samples refer to).
    pub node_id: u32,
    /// Estimated live bytes of this node's own allocations (V8's scaled
    /// sample counts times their sizes: the inspector's `selfSize`).
    pub self_bytes: u64,
}

/// One live sample: V8's node id, its estimated bytes (size times scaled
/// count, as the inspector reports it), and its time-ordered id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProfileSample {
    pub node_id: u32,
    pub bytes: u64,
    pub ordinal: u64,
}

/// A sampled allocation profile as flat columns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    pub nodes: Vec<ProfileNode>,
    pub samples: Vec<ProfileSample>,
}

impl Profile {
    /// Whether this read can come from the same profiler as `earlier`, read
    /// before it. V8 numbers the nodes and samples of each profiler it
    /// starts from 1 and never reuses a number; a node keeps its frame and
    /// parent, a live sample its node and size. So in a later read of the
    /// same profiler, every node and sample numbered no higher than the
    /// highest in `earlier` was in `earlier` too, unchanged. A profiler
    /// started in between (someone stopped memwatch's and started their own)
    /// numbers from 1 again, and its first nodes and samples do not match.
    /// One with nothing but its root cannot be told apart.
    pub fn continues(&self, earlier: &Profile) -> bool {
        let node_key = |p: &Profile, n: &ProfileNode| {
            let parent = p.nodes.get(n.parent as usize).map(|q| q.node_id);
            (n.frame, parent)
        };
        let max_node = earlier.nodes.iter().map(|n| n.node_id).max().unwrap_or(0);
        let nodes: FxHashMap<u32, (u32, Option<u32>)> = earlier
            .nodes
            .iter()
            .map(|n| (n.node_id, node_key(earlier, n)))
            .collect();
        let nodes_match = self
            .nodes
            .iter()
            .all(|n| n.node_id > max_node || nodes.get(&n.node_id) == Some(&node_key(self, n)));
        if !nodes_match {
            return false;
        }
        let max_sample = earlier.samples.iter().map(|s| s.ordinal).max().unwrap_or(0);
        let samples: FxHashMap<u64, (u32, u64)> = earlier
            .samples
            .iter()
            .map(|s| (s.ordinal, (s.node_id, s.bytes)))
            .collect();
        self.samples.iter().all(|s| {
            s.ordinal > max_sample || samples.get(&s.ordinal) == Some(&(s.node_id, s.bytes))
        })
    }
}

/// Builds one [`Profile`], interning frames into the tracker's [`Frames`].
pub struct ProfileBuilder<'a> {
    frames: &'a mut Frames,
    profile: Profile,
}

impl<'a> ProfileBuilder<'a> {
    /// The frame of a function seen before, by its script id and start
    /// position (only for nodes with a script: `script_id != 0`).
    pub fn known_frame(&self, script_id: i32, position: i32) -> Option<u32> {
        if script_id == 0 {
            return None;
        }
        self.frames.by_position.get(&(script_id, position)).copied()
    }

    /// Interns a frame. `position` is the function's start position in its
    /// script, the cache key of [`known_frame`](Self::known_frame) (the
    /// native route knows it; the inspector's profile does not, and its
    /// frames are found by script, line, column and name instead). A
    /// script-less node (`script_id == 0`) is found by name.
    pub fn frame(
        &mut self,
        script_id: i32,
        position: Option<i32>,
        function: &str,
        url: &str,
        line: i32,
        column: i32,
    ) -> u32 {
        if let Some(f) = position.and_then(|p| self.known_frame(script_id, p)) {
            return f;
        }
        let f = &mut *self.frames;
        let function = f.intern(function);
        let place = (script_id, line, column, function);
        if script_id == 0 {
            if let Some(&id) = f.by_name.get(&function) {
                return id;
            }
        } else if position.is_none() {
            if let Some(&id) = f.by_place.get(&place) {
                return id;
            }
        }
        let url = f.intern(url);
        let key = SiteKey {
            function,
            url,
            line,
            column,
        };
        let site = *f.site_ids.entry(key).or_insert_with(|| {
            f.sites.push(key);
            (f.sites.len() - 1) as u32
        });
        let id = f.frames.len() as u32;
        f.frames.push(Frame {
            function,
            url,
            script_id,
            line,
            column,
            site,
        });
        match position {
            _ if script_id == 0 => {
                f.by_name.insert(function, id);
            }
            Some(p) => {
                f.by_position.insert((script_id, p), id);
            }
            None => {
                f.by_place.insert(place, id);
            }
        }
        id
    }

    /// Adds a node; returns its index. The first node must be the root
    /// (`parent: None`), every later one must name an earlier node.
    pub fn node(
        &mut self,
        parent: Option<u32>,
        frame: u32,
        node_id: u32,
        self_bytes: u64,
    ) -> Result<u32, SitesError> {
        let n = self.profile.nodes.len();
        if n >= MAX_NODES {
            return Err(SitesError::TooManyNodes);
        }
        let parent = match (n, parent) {
            (0, None) => NO_PARENT,
            (0, Some(_)) | (_, None) => return Err(SitesError::BadRoot),
            (_, Some(p)) if (p as usize) < n => p,
            (_, Some(p)) => return Err(SitesError::BadParent(p)),
        };
        self.profile.nodes.push(ProfileNode {
            parent,
            frame,
            node_id,
            self_bytes,
        });
        Ok(n as u32)
    }

    pub fn sample(&mut self, node_id: u32, bytes: u64, ordinal: u64) -> Result<(), SitesError> {
        if self.profile.samples.len() >= MAX_SAMPLES {
            return Err(SitesError::TooManySamples);
        }
        self.profile.samples.push(ProfileSample {
            node_id,
            bytes,
            ordinal,
        });
        Ok(())
    }

    pub fn node_count(&self) -> usize {
        self.profile.nodes.len()
    }

    pub fn finish(self) -> Profile {
        self.profile
    }
}

/// Live bytes and samples of one site in one read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SiteTotal {
    site: u32,
    bytes: u64,
    samples: u32,
}

/// Per-site totals of one read, sorted by site id.
#[derive(Clone, Debug, Default)]
struct Totals(Vec<SiteTotal>);

/// The site each node's allocations count for: its own frame's, unless the
/// frame has no script (a built-in such as `Map.prototype.set` or
/// `Array.prototype.push`, script id 0), which allocates on behalf of the
/// nearest scripted caller. V8's pseudo-frames ("(V8 API)", "(GC)"), which
/// sit right under the root, keep their own.
fn node_sites(profile: &Profile, frames: &Frames) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::with_capacity(profile.nodes.len());
    // Whether out[i] came from a scripted frame (an inheritable site).
    let mut scripted: Vec<bool> = Vec::with_capacity(profile.nodes.len());
    for n in &profile.nodes {
        let frame = frames.frame(n.frame);
        let own = frame.map_or(u32::MAX, |f| f.site);
        let has_script = frame.is_some_and(|f| f.script_id != 0);
        let parent = (n.parent as usize) < out.len();
        let (site, from_script) = if !has_script && parent && scripted[n.parent as usize] {
            (out[n.parent as usize], true)
        } else {
            (own, has_script)
        };
        out.push(site);
        scripted.push(from_script);
    }
    out
}

/// V8 node id -> the site its allocations count for. V8 numbers nodes as it
/// creates them and never reuses a number, so ids are usually dense enough
/// for a plain table; after long runs with much pruning, a hash map.
enum SiteOfNode {
    Dense(Vec<u32>),
    Sparse(HashMap<u32, u32>),
}

impl SiteOfNode {
    fn new(profile: &Profile, sites: &[u32]) -> Self {
        let max = profile.nodes.iter().map(|n| n.node_id).max().unwrap_or(0) as usize;
        if max <= profile.nodes.len() * 4 + 1024 {
            let mut table = vec![u32::MAX; max + 1];
            for (n, &site) in profile.nodes.iter().zip(sites) {
                table[n.node_id as usize] = site;
            }
            SiteOfNode::Dense(table)
        } else {
            SiteOfNode::Sparse(
                profile
                    .nodes
                    .iter()
                    .zip(sites)
                    .map(|(n, &site)| (n.node_id, site))
                    .collect(),
            )
        }
    }

    fn get(&self, node_id: u32) -> u32 {
        match self {
            SiteOfNode::Dense(t) => t.get(node_id as usize).copied().unwrap_or(u32::MAX),
            SiteOfNode::Sparse(m) => m.get(&node_id).copied().unwrap_or(u32::MAX),
        }
    }
}

impl Totals {
    /// Live bytes and samples per site; `sites[i]` is node i's site
    /// (`u32::MAX`: none), `site_count` the number of sites known.
    fn of(profile: &Profile, sites: &[u32], site_count: usize) -> Self {
        let mut bytes = vec![0u64; site_count];
        let mut samples = vec![0u32; site_count];
        for (n, &site) in profile.nodes.iter().zip(sites) {
            if let Some(b) = bytes.get_mut(site as usize) {
                *b = b.saturating_add(n.self_bytes);
            }
        }
        let site_of = SiteOfNode::new(profile, sites);
        for s in &profile.samples {
            if let Some(c) = samples.get_mut(site_of.get(s.node_id) as usize) {
                *c = c.saturating_add(1);
            }
        }
        Totals(
            bytes
                .iter()
                .zip(&samples)
                .enumerate()
                .filter(|(_, (b, c))| **b > 0 || **c > 0)
                .map(|(site, (&bytes, &samples))| SiteTotal {
                    site: site as u32,
                    bytes,
                    samples,
                })
                .collect(),
        )
    }

    fn get(&self, site: u32) -> Option<&SiteTotal> {
        self.0
            .binary_search_by_key(&site, |t| t.site)
            .ok()
            .map(|i| &self.0[i])
    }
}

/// One read, keyed by the number of the full GC it followed.
#[derive(Debug)]
struct Read {
    key: u64,
    totals: Totals,
}

/// How [`SiteTracker::current`] orders sites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteOrder {
    /// Most live bytes first.
    Live,
    /// Most growth since the previous `current` call first.
    Growth,
}

/// One allocation site, as `leak.sites` and `memwatch.sites()` report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteRecord {
    /// The allocating function ("(anonymous)" when V8 has no name; V8's own
    /// pseudo-frames such as "(V8 API)" or "(BYTECODE_COMPILER)" as named).
    pub function: String,
    /// Its script ("" for V8's pseudo-frames).
    pub url: String,
    /// Where the function starts, 1-based (0: unknown). V8 samples record
    /// functions, not statements.
    pub line: u32,
    pub column: u32,
    /// Live bytes gained over the window (negative: shrank).
    pub growth_bytes: i64,
    /// Estimated live bytes now.
    pub live_bytes: u64,
    /// Live samples behind the estimate (its statistical weight).
    pub samples: u32,
    /// The path that holds most of the site's live bytes, innermost frame
    /// first: "handleLogin (/app/server.js:42:28)".
    pub stack: Vec<String>,
}

/// What the start-up canary allocated, and where (see [`SiteTracker::check_canary`]).
#[derive(Clone, Debug)]
pub struct CanaryExpectation {
    pub function: String,
    pub caller: String,
    pub url: String,
    /// 1-based.
    pub line: u32,
    pub column: u32,
    /// Bytes the canary allocated and kept alive.
    pub retained_bytes: u64,
}

/// Sites over time for one isolate: the reads that may serve as a leak
/// window's baseline, the latest profile, and the baseline of `current`.
#[derive(Debug, Default)]
pub struct SiteTracker {
    frames: Frames,
    reads: VecDeque<Read>,
    /// The latest profile, its totals and the site of each of its nodes.
    latest: Option<(Profile, Totals, Vec<u32>)>,
    marked: Option<Totals>,
}

fn display_name(name: &str) -> &str {
    if name.is_empty() {
        "(anonymous)"
    } else {
        name
    }
}

impl SiteTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder for the next read.
    pub fn builder(&mut self) -> ProfileBuilder<'_> {
        if self.frames.over_budget() {
            // Frame ids held by earlier reads would dangle: start over.
            self.frames = Frames::default();
            self.reset();
        }
        ProfileBuilder {
            frames: &mut self.frames,
            profile: Profile::default(),
        }
    }

    pub fn frames(&self) -> &Frames {
        &self.frames
    }

    /// Forgets the reads: the profiler was (re)started, so live bytes of
    /// earlier reads are not comparable with later ones.
    pub fn reset(&mut self) {
        self.reads.clear();
        self.latest = None;
        self.marked = None;
    }

    /// Records a read. With `key` (the number of the full GC it followed),
    /// it can serve as the baseline of a later leak window. Returns false
    /// when the read does not continue the latest one ([`Profile::continues`]):
    /// the profiler was replaced, and the earlier reads are forgotten.
    pub fn record(&mut self, profile: Profile, key: Option<u64>) -> bool {
        let continued = self
            .latest
            .as_ref()
            .is_none_or(|(latest, _, _)| profile.continues(latest));
        if !continued {
            self.reset();
        }
        let sites = node_sites(&profile, &self.frames);
        let totals = Totals::of(&profile, &sites, self.frames.site_count());
        if let Some(key) = key {
            // Keys only grow; a read for the same GC replaces the older one.
            while self.reads.back().is_some_and(|r| r.key >= key) {
                self.reads.pop_back();
            }
            self.reads.push_back(Read {
                key,
                totals: totals.clone(),
            });
            while self.reads.len() > READS_KEPT {
                self.reads.pop_front();
            }
        }
        self.latest = Some((profile, totals, sites));
        continued
    }

    pub fn latest(&self) -> Option<&Profile> {
        self.latest.as_ref().map(|(p, _, _)| p)
    }

    /// Sites whose live bytes grew most between the read that followed full
    /// GC `start_key` (or the latest before it; none: the profiler started
    /// later, so everything it holds is growth) and the latest read. Only
    /// sites that grew; at most `top`, most growth first.
    pub fn window(&self, start_key: u64, top: usize) -> Vec<SiteRecord> {
        let Some((_, now, _)) = &self.latest else {
            return Vec::new();
        };
        let base = self.reads.iter().rev().find(|r| r.key <= start_key);
        let empty = Totals::default();
        let base = base.map_or(&empty, |r| &r.totals);
        let mut out: Vec<(i64, &SiteTotal)> = now
            .0
            .iter()
            .map(|t| (growth(t, base), t))
            .filter(|(g, _)| *g > 0)
            .collect();
        sort_and_cut(&mut out, top, |(g, t)| (*g, t.bytes));
        out.into_iter()
            .map(|(g, t)| self.record_for(t, g))
            .collect()
    }

    /// The latest read by site: growth since the previous `current` call
    /// (the first call: since the profiler started), at most `top` sites.
    /// Remembers this read as the next call's baseline.
    pub fn current(&mut self, top: usize, order: SiteOrder) -> Vec<SiteRecord> {
        let Some((_, now, _)) = &self.latest else {
            return Vec::new();
        };
        let empty = Totals::default();
        let base = self.marked.as_ref().unwrap_or(&empty);
        let mut out: Vec<(i64, &SiteTotal)> = now
            .0
            .iter()
            .filter(|t| t.bytes > 0 || t.samples > 0)
            .map(|t| (growth(t, base), t))
            .collect();
        match order {
            SiteOrder::Live => sort_and_cut(&mut out, top, |(g, t)| (t.bytes as i64, *g)),
            SiteOrder::Growth => sort_and_cut(&mut out, top, |(g, t)| (*g, t.bytes as i64)),
        }
        let records = out
            .into_iter()
            .map(|(g, t)| self.record_for(t, g))
            .collect();
        self.marked = Some(now.clone());
        records
    }

    fn record_for(&self, t: &SiteTotal, growth_bytes: i64) -> SiteRecord {
        let key = self.frames.sites[t.site as usize];
        SiteRecord {
            function: display_name(self.frames.string(key.function)).to_owned(),
            url: self.frames.string(key.url).to_owned(),
            line: key.line.max(0) as u32,
            column: key.column.max(0) as u32,
            growth_bytes,
            live_bytes: t.bytes,
            samples: t.samples,
            stack: self.stack(t.site),
        }
    }

    /// One frame as a stack line: "name (url:line:column)", or the bare
    /// name for V8's pseudo-frames.
    fn frame_line(&self, frame: &Frame) -> String {
        let name = display_name(self.frames.string(frame.function));
        let url = self.frames.string(frame.url);
        if url.is_empty() && frame.line <= NO_POSITION {
            return name.to_owned();
        }
        let url = if url.is_empty() { "<anonymous>" } else { url };
        format!(
            "{name} ({url}:{}:{})",
            frame.line.max(0),
            frame.column.max(0)
        )
    }

    /// The path (innermost first, the root left out) to the node counted
    /// for `site` with the most live bytes in the latest profile. It starts
    /// with the built-in that allocated, if one did ("set", then the
    /// function that called `map.set`).
    fn stack(&self, site: u32) -> Vec<String> {
        let Some((profile, _, sites)) = &self.latest else {
            return Vec::new();
        };
        let best = profile
            .nodes
            .iter()
            .zip(sites)
            .enumerate()
            .filter(|(_, (_, s))| **s == site)
            .max_by_key(|(i, (n, _))| (n.self_bytes, std::cmp::Reverse(*i)))
            .map(|(i, _)| i);
        let mut out = Vec::new();
        let mut at = best;
        while let Some(i) = at {
            let node = &profile.nodes[i];
            if node.parent == NO_PARENT {
                break; // the root, "(root)"
            }
            if let Some(frame) = self.frames.frame(node.frame) {
                out.push(self.frame_line(frame));
            }
            // Parents come before children (the builder checks), so this ends.
            at = Some(node.parent as usize);
        }
        out
    }

    /// The latest profile as the inspector's `HeapProfiler.SamplingHeapProfile`
    /// JSON (`{ head, samples }`), which is what DevTools saves and opens as
    /// a `.heapprofile`: 0-based line and column numbers, string script ids.
    pub fn inspector_json(&self) -> Option<String> {
        let (profile, _, _) = self.latest.as_ref()?;
        Some(to_inspector_json(profile, &self.frames))
    }

    /// The start-up canary: the latest read must hold the allocation that
    /// `expect.function` (called from `expect.caller`) made and kept, at the
    /// script, line and column it was compiled at, with a size estimate and
    /// samples that agree with what it allocated. A read that passes this
    /// had every field of the tree where the layout table says it is.
    pub fn check_canary(&self, expect: &CanaryExpectation) -> Result<(), String> {
        let (profile, _, sites) = self.latest.as_ref().ok_or("no profile was read")?;
        let frames = &self.frames;
        let root = profile
            .nodes
            .first()
            .ok_or("the profile has no root node")?;
        if root.parent != NO_PARENT
            || frames.frame(root.frame).map(|f| frames.string(f.function)) != Some("(root)")
        {
            return Err("the profile's first node is not \"(root)\"".into());
        }
        let mut ids: Vec<u32> = profile.nodes.iter().map(|n| n.node_id).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err("node ids are not unique".into());
        }
        let is = |n: &ProfileNode, name: &str| {
            frames
                .frame(n.frame)
                .is_some_and(|f| frames.string(f.function) == name)
        };
        // The canary may sit on more than one path: a built-in it calls
        // (`push`) adds a frame, so a stack cut at the configured depth
        // loses a different outermost frame.
        let found: Vec<(usize, &ProfileNode)> = profile
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| is(n, &expect.function))
            .collect();
        let Some(&(first, _)) = found.first() else {
            return Err(format!("no node for {}", expect.function));
        };
        for (_, node) in &found {
            let frame = frames.frame(node.frame).ok_or("canary frame missing")?;
            let (url, line, column) = (frames.string(frame.url), frame.line, frame.column);
            if url != expect.url || line != expect.line as i32 || column != expect.column as i32 {
                return Err(format!(
                    "{} reads as {url}:{line}:{column}, expected {}:{}:{}",
                    expect.function, expect.url, expect.line, expect.column
                ));
            }
            let parent = profile.nodes.get(node.parent as usize);
            if !parent.is_some_and(|p| is(p, &expect.caller)) {
                return Err(format!(
                    "{} is not called from {}",
                    expect.function, expect.caller
                ));
            }
        }
        // What the canary's site holds: its nodes and the built-ins they called.
        let site = sites[first];
        let counted: HashMap<u32, bool> = profile
            .nodes
            .iter()
            .zip(sites)
            .map(|(n, s)| (n.node_id, *s == site))
            .collect();
        let bytes: u64 = profile
            .nodes
            .iter()
            .zip(sites)
            .filter(|(_, s)| **s == site)
            .map(|(n, _)| n.self_bytes)
            .sum();
        let (lo, hi) = (
            expect.retained_bytes / 3,
            expect.retained_bytes.saturating_mul(3),
        );
        if bytes < lo || bytes > hi {
            return Err(format!(
                "{} holds an estimated {bytes} bytes, expected about {}",
                expect.function, expect.retained_bytes
            ));
        }
        let samples: Vec<&ProfileSample> = profile
            .samples
            .iter()
            .filter(|s| counted.get(&s.node_id) == Some(&true))
            .collect();
        let sampled: u64 = samples.iter().map(|s| s.bytes).sum();
        if samples.is_empty() || sampled < bytes * 3 / 4 || sampled > bytes * 5 / 4 {
            return Err(format!(
                "{} samples of {} add up to {sampled} bytes, its nodes say {bytes}",
                samples.len(),
                expect.function,
            ));
        }
        let mut ordinals: Vec<u64> = profile.samples.iter().map(|s| s.ordinal).collect();
        ordinals.sort_unstable();
        if ordinals.windows(2).any(|w| w[0] == w[1]) {
            return Err("sample ids are not unique".into());
        }
        Ok(())
    }
}

fn growth(t: &SiteTotal, base: &Totals) -> i64 {
    let before = base.get(t.site).map_or(0, |b| b.bytes);
    (t.bytes as i128 - before as i128).clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// Sorts by `key` descending (site id ascending on ties, for stable output)
/// and keeps the first `top`.
fn sort_and_cut<T, K: Ord>(v: &mut Vec<(i64, &SiteTotal)>, top: usize, key: T)
where
    T: Fn(&(i64, &SiteTotal)) -> K,
{
    v.sort_by(|a, b| key(b).cmp(&key(a)).then(a.1.site.cmp(&b.1.site)));
    v.truncate(top);
}

fn to_inspector_json(profile: &Profile, frames: &Frames) -> String {
    let n = profile.nodes.len();
    // Children lists from parent indices (pre-order keeps sibling order).
    let mut first_child = vec![u32::MAX; n];
    let mut next_sibling = vec![u32::MAX; n];
    let mut last_child = vec![u32::MAX; n];
    for (i, node) in profile.nodes.iter().enumerate().skip(1) {
        let p = node.parent as usize;
        if p >= n {
            continue;
        }
        if first_child[p] == u32::MAX {
            first_child[p] = i as u32;
        } else {
            next_sibling[last_child[p] as usize] = i as u32;
        }
        last_child[p] = i as u32;
    }
    let mut out = String::with_capacity(64 + n * 160 + profile.samples.len() * 48);
    out.push_str("{\"head\":");
    if n > 0 {
        // Iterative depth-first: each stack entry is a node whose object is
        // open and the next child to write.
        let mut stack: Vec<(usize, u32)> = Vec::new();
        open_node(&mut out, &profile.nodes[0], frames);
        stack.push((0, first_child[0]));
        while let Some(top) = stack.last_mut() {
            let child = top.1;
            if child == u32::MAX {
                out.push_str("]}");
                stack.pop();
                continue;
            }
            if child != first_child[top.0] {
                out.push(',');
            }
            top.1 = next_sibling[child as usize];
            open_node(&mut out, &profile.nodes[child as usize], frames);
            stack.push((child as usize, first_child[child as usize]));
        }
    } else {
        out.push_str("null");
    }
    out.push_str(",\"samples\":[");
    for (i, s) in profile.samples.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"size\":{},\"nodeId\":{},\"ordinal\":{}}}",
            s.bytes, s.node_id, s.ordinal
        );
    }
    out.push_str("]}");
    out
}

/// Writes a node object up to (and including) the `[` of its children.
fn open_node(out: &mut String, node: &ProfileNode, frames: &Frames) {
    let (function, url, script_id, line, column) = match frames.frame(node.frame) {
        Some(f) => (
            frames.string(f.function),
            frames.string(f.url),
            f.script_id,
            f.line,
            f.column,
        ),
        None => ("", "", 0, NO_POSITION, NO_POSITION),
    };
    out.push_str("{\"callFrame\":{\"functionName\":");
    push_json_quoted(out, function);
    let _ = write!(out, ",\"scriptId\":\"{script_id}\",\"url\":");
    push_json_quoted(out, url);
    let _ = write!(
        out,
        ",\"lineNumber\":{},\"columnNumber\":{}}},\"selfSize\":{},\"id\":{},\"children\":[",
        line - 1,
        column - 1,
        node.self_bytes,
        node.node_id
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree: (root) -> main -> {handleLogin, handleSearch -> helper}.
    struct T<'a> {
        b: ProfileBuilder<'a>,
    }

    impl<'a> T<'a> {
        fn frame(&mut self, name: &str, line: i32) -> u32 {
            self.b.frame(
                if name.starts_with('(') { 0 } else { 7 },
                Some(line * 100),
                name,
                if name.starts_with('(') {
                    ""
                } else {
                    "/app/server.js"
                },
                line,
                if name.starts_with('(') { 0 } else { 10 },
            )
        }
    }

    /// Records a profile with `login` and `search` bytes at the two leaf
    /// handlers and `helper` bytes under handleSearch.
    fn read(tracker: &mut SiteTracker, key: u64, login: u64, search: u64, helper: u64) {
        let mut t = T {
            b: tracker.builder(),
        };
        let (root, main, login_f, search_f, helper_f) = (
            t.frame("(root)", 0),
            t.frame("main", 1),
            t.frame("handleLogin", 10),
            t.frame("handleSearch", 20),
            t.frame("", 30),
        );
        let b = &mut t.b;
        let r = b.node(None, root, 1, 0).unwrap();
        let m = b.node(Some(r), main, 2, 64).unwrap();
        b.node(Some(m), login_f, 3, login).unwrap();
        let s = b.node(Some(m), search_f, 4, search).unwrap();
        b.node(Some(s), helper_f, 5, helper).unwrap();
        for (node, bytes) in [(3, login), (4, search), (5, helper)] {
            for k in 0..bytes / 1000 {
                b.sample(node, 1000, key * 1000 + node as u64 * 100 + k)
                    .unwrap();
            }
        }
        let p = t.b.finish();
        tracker.record(p, Some(key));
    }

    #[test]
    fn a_window_ranks_sites_by_growth_against_its_baseline() {
        let mut tr = SiteTracker::new();
        read(&mut tr, 1, 1000, 50_000, 0);
        read(&mut tr, 2, 20_000, 40_000, 3000);
        read(&mut tr, 5, 90_000, 52_000, 3000);
        // Window from GC 2: login grew 70k, search 12k, helper 0 (left out).
        let sites = tr.window(2, 10);
        assert_eq!(sites.len(), 2);
        assert_eq!(sites[0].function, "handleLogin");
        assert_eq!(sites[0].growth_bytes, 70_000);
        assert_eq!(sites[0].live_bytes, 90_000);
        assert_eq!(sites[0].samples, 90);
        assert_eq!((sites[0].line, sites[0].column), (10, 10));
        assert_eq!(sites[0].url, "/app/server.js");
        assert_eq!(
            sites[0].stack,
            vec![
                "handleLogin (/app/server.js:10:10)",
                "main (/app/server.js:1:10)"
            ]
        );
        assert_eq!(sites[1].growth_bytes, 12_000);
        // GC 4 was not read: the latest read before it (GC 2) is the baseline.
        assert_eq!(tr.window(4, 10), sites);
        // From GC 1: search shrank, so only login and helper grew.
        let from1 = tr.window(1, 10);
        assert_eq!(
            from1
                .iter()
                .map(|s| (s.function.as_str(), s.growth_bytes))
                .collect::<Vec<_>>(),
            vec![
                ("handleLogin", 89_000),
                ("(anonymous)", 3000),
                ("handleSearch", 2000)
            ]
        );
        assert_eq!(from1[1].stack[0], "(anonymous) (/app/server.js:30:10)");
        assert_eq!(from1[1].stack[1], "handleSearch (/app/server.js:20:10)");
        // top cuts the list.
        assert_eq!(tr.window(1, 1).len(), 1);
    }

    #[test]
    fn without_a_baseline_everything_the_profiler_holds_is_growth() {
        let mut tr = SiteTracker::new();
        read(&mut tr, 9, 5000, 1000, 0);
        let sites = tr.window(3, 10);
        assert_eq!(sites[0].growth_bytes, 5000);
        assert_eq!(sites[1].growth_bytes, 1000);
        tr.reset();
        assert!(tr.window(3, 10).is_empty());
    }

    #[test]
    fn reads_are_bounded_and_keys_only_grow() {
        let mut tr = SiteTracker::new();
        for k in 1..=40 {
            read(&mut tr, k, k * 1000, 0, 0);
        }
        assert_eq!(tr.reads.len(), READS_KEPT);
        // A window older than every held read compares with the oldest held.
        read(&mut tr, 40, 100_000, 0, 0);
        assert_eq!(tr.reads.len(), READS_KEPT);
        let w = tr.window(100, 10);
        // GC 40 replaced its earlier read: the baseline is the new one.
        assert!(w.is_empty());
        let oldest = tr.reads.front().unwrap().key;
        assert_eq!(oldest, 29);
        assert_eq!(tr.window(oldest, 10)[0].growth_bytes, 100_000 - 29_000);
    }

    #[test]
    fn current_orders_by_live_or_growth_and_moves_its_baseline() {
        let mut tr = SiteTracker::new();
        read(&mut tr, 1, 10_000, 50_000, 0);
        let first = tr.current(10, SiteOrder::Live);
        assert_eq!(first[0].function, "handleSearch");
        assert_eq!(first[0].growth_bytes, 50_000);
        read(&mut tr, 2, 30_000, 49_000, 0);
        let by_growth = tr.current(10, SiteOrder::Growth);
        assert_eq!(by_growth[0].function, "handleLogin");
        assert_eq!(by_growth[0].growth_bytes, 20_000);
        assert_eq!(by_growth[1].growth_bytes, 0); // main
        assert_eq!(by_growth[2].growth_bytes, -1000);
        // Nothing new since: no growth.
        assert!(tr
            .current(10, SiteOrder::Growth)
            .iter()
            .all(|s| s.growth_bytes == 0));
    }

    #[test]
    fn frames_are_cached_by_script_position_and_sites_merge_call_paths() {
        let mut tr = SiteTracker::new();
        let mut b = tr.builder();
        let f1 = b.frame(3, Some(120), "alloc", "/a.js", 4, 9);
        assert_eq!(b.known_frame(3, 120), Some(f1));
        assert_eq!(b.known_frame(3, 121), None);
        assert_eq!(b.known_frame(0, 0), None);
        // The same function text in a re-evaluated script: another frame,
        // the same site.
        let f2 = b.frame(4, Some(120), "alloc", "/a.js", 4, 9);
        assert_ne!(f1, f2);
        let r0 = b.frame(0, None, "(root)", "", 0, 0);
        assert_eq!(b.frame(0, None, "(root)", "", 0, 0), r0);
        let r = b.node(None, r0, 1, 0).unwrap();
        let a = b.node(Some(r), f1, 2, 300).unwrap();
        b.node(Some(a), f2, 3, 700).unwrap();
        let p = b.finish();
        tr.record(p, Some(1));
        let sites = tr.window(0, 10);
        assert_eq!(sites.len(), 1);
        assert_eq!(sites[0].live_bytes, 1000);
        assert_eq!(
            sites[0].stack,
            vec!["alloc (/a.js:4:9)", "alloc (/a.js:4:9)"]
        );
        assert_eq!(tr.frames().site_count(), 2);
        // Without positions (the inspector route): found by place and name.
        let mut b = tr.builder();
        let g = b.frame(3, None, "alloc", "/a.js", 4, 9);
        assert_eq!(b.frame(3, None, "alloc", "/a.js", 4, 9), g);
        assert_ne!(b.frame(3, None, "other", "/a.js", 4, 9), g);
        assert_ne!(g, f1);
        assert_eq!(
            tr.frames().frame(g).unwrap().site,
            tr.frames().frame(f1).unwrap().site
        );
    }

    #[test]
    fn built_ins_count_for_their_scripted_caller_and_pseudo_frames_for_themselves() {
        let mut tr = SiteTracker::new();
        let mut b = tr.builder();
        let root = b.frame(0, None, "(root)", "", 0, 0);
        let handler = b.frame(7, Some(50), "handleLogin", "/app/server.js", 10, 27);
        let set = b.frame(0, None, "set", "", 0, 0);
        let api = b.frame(0, None, "(V8 API)", "", 0, 0);
        let r = b.node(None, root, 1, 0).unwrap();
        let h = b.node(Some(r), handler, 2, 3000).unwrap();
        b.node(Some(h), set, 3, 5000).unwrap();
        let a = b.node(Some(r), api, 4, 700).unwrap();
        // A built-in with no scripted caller keeps its own site.
        b.node(Some(a), set, 5, 100).unwrap();
        b.sample(3, 5000, 1).unwrap();
        b.sample(2, 3000, 2).unwrap();
        let p = b.finish();
        tr.record(p, Some(1));
        let sites = tr.window(0, 10);
        let got: Vec<_> = sites
            .iter()
            .map(|s| (s.function.as_str(), s.live_bytes, s.samples))
            .collect();
        assert_eq!(
            got,
            vec![
                ("handleLogin", 8000, 2),
                ("(V8 API)", 700, 0),
                ("set", 100, 0)
            ]
        );
        assert_eq!(
            sites[0].stack,
            vec!["set", "handleLogin (/app/server.js:10:27)"]
        );
        assert_eq!(sites[1].stack, vec!["(V8 API)"]);
    }

    #[test]
    fn samples_find_their_site_whether_node_ids_are_dense_or_sparse() {
        for far in [9, 50_000_000] {
            let mut tr = SiteTracker::new();
            let mut b = tr.builder();
            let root = b.frame(0, None, "(root)", "", 0, 0);
            let f = b.frame(7, Some(1), "f", "/a.js", 1, 1);
            let g = b.frame(7, Some(2), "g", "/a.js", 2, 1);
            let r = b.node(None, root, 1, 0).unwrap();
            b.node(Some(r), f, 2, 100).unwrap();
            b.node(Some(r), g, far, 300).unwrap();
            b.sample(2, 100, 1).unwrap();
            b.sample(far, 150, 2).unwrap();
            b.sample(far, 150, 3).unwrap();
            b.sample(12345, 1, 4).unwrap(); // a node the tree does not have
            let p = b.finish();
            tr.record(p, Some(1));
            let got: Vec<_> = tr
                .window(0, 10)
                .iter()
                .map(|s| (s.function.clone(), s.live_bytes, s.samples))
                .collect();
            assert_eq!(
                got,
                vec![("g".into(), 300, 2), ("f".into(), 100, 1)],
                "{far}"
            );
        }
    }

    #[test]
    fn the_builder_refuses_malformed_trees() {
        let mut tr = SiteTracker::new();
        let mut b = tr.builder();
        let f = b.frame(0, None, "(root)", "", 0, 0);
        assert_eq!(b.node(Some(0), f, 1, 0), Err(SitesError::BadRoot));
        b.node(None, f, 1, 0).unwrap();
        assert_eq!(b.node(None, f, 2, 0), Err(SitesError::BadRoot));
        assert_eq!(b.node(Some(5), f, 2, 0), Err(SitesError::BadParent(5)));
        assert!(b.node(Some(0), f, 2, 0).is_ok());
    }

    fn canary_profile(tr: &mut SiteTracker, line: i32, bytes: u64, sampled: u64) {
        let mut b = tr.builder();
        let root = b.frame(0, None, "(root)", "", 0, 0);
        let caller = b.frame(9, Some(10), "canaryCaller", "memwatch:canary", 2, 40);
        let canary = b.frame(9, Some(90), "canary", "memwatch:canary", line, 34);
        let r = b.node(None, root, 1, 0).unwrap();
        let c = b.node(Some(r), caller, 2, 0).unwrap();
        b.node(Some(c), canary, 3, bytes).unwrap();
        for i in 0..4 {
            b.sample(3, sampled / 4, 10 + i).unwrap();
        }
        let p = b.finish();
        tr.record(p, None);
    }

    fn expectation() -> CanaryExpectation {
        CanaryExpectation {
            function: "canary".into(),
            caller: "canaryCaller".into(),
            url: "memwatch:canary".into(),
            line: 3,
            column: 34,
            retained_bytes: 250_000,
        }
    }

    #[test]
    fn the_canary_accepts_a_faithful_read() {
        let mut tr = SiteTracker::new();
        canary_profile(&mut tr, 3, 262_000, 262_000);
        assert_eq!(tr.check_canary(&expectation()), Ok(()));
    }

    #[test]
    fn the_canary_may_sit_on_two_cut_paths_and_count_its_built_ins() {
        let mut tr = SiteTracker::new();
        let mut b = tr.builder();
        let root = b.frame(0, None, "(root)", "", 0, 0);
        let outer = b.frame(9, Some(1), "outer", "/x.js", 1, 1);
        let caller = b.frame(9, Some(10), "canaryCaller", "memwatch:canary", 2, 40);
        let canary = b.frame(9, Some(90), "canary", "memwatch:canary", 3, 34);
        let push = b.frame(0, None, "push", "", 0, 0);
        let r = b.node(None, root, 1, 0).unwrap();
        let o = b.node(Some(r), outer, 2, 0).unwrap();
        let c1 = b.node(Some(o), caller, 3, 0).unwrap();
        b.node(Some(c1), canary, 4, 200_000).unwrap();
        let c2 = b.node(Some(r), caller, 5, 0).unwrap();
        let k2 = b.node(Some(c2), canary, 6, 0).unwrap();
        b.node(Some(k2), push, 7, 62_000).unwrap();
        for (i, (node, bytes)) in [(4, 100_000), (4, 100_000), (7, 62_000)].iter().enumerate() {
            b.sample(*node, *bytes, i as u64).unwrap();
        }
        let p = b.finish();
        tr.record(p, None);
        assert_eq!(tr.check_canary(&expectation()), Ok(()));
    }

    #[test]
    fn the_canary_refuses_misread_fields() {
        let check = |line, bytes, sampled| {
            let mut tr = SiteTracker::new();
            canary_profile(&mut tr, line, bytes, sampled);
            tr.check_canary(&expectation()).unwrap_err()
        };
        assert!(check(4, 262_000, 262_000).contains("memwatch:canary:4:34"));
        // A size read from the wrong field (e.g. the count): far off.
        assert!(check(3, 64, 64).contains("estimated 64 bytes"));
        // Samples that disagree with their node (a misread sample layout).
        assert!(check(3, 262_000, 4_000).contains("add up to"));
        let mut empty = SiteTracker::new();
        assert!(empty.check_canary(&expectation()).is_err());
        let mut b = empty.builder();
        let f = b.frame(0, None, "(root)", "", 0, 0);
        b.node(None, f, 1, 0).unwrap();
        let p = b.finish();
        empty.record(p, None);
        assert_eq!(
            empty.check_canary(&expectation()),
            Err("no node for canary".into())
        );
    }

    #[test]
    fn the_inspector_json_is_the_tree_with_zero_based_positions() {
        let mut tr = SiteTracker::new();
        read(&mut tr, 1, 2000, 0, 1000);
        let json = tr.inspector_json().unwrap();
        assert!(json.starts_with(
            "{\"head\":{\"callFrame\":{\"functionName\":\"(root)\",\"scriptId\":\"0\",\"url\":\"\",\
             \"lineNumber\":-1,\"columnNumber\":-1},\"selfSize\":0,\"id\":1,\"children\":[{\"callFrame\":\
             {\"functionName\":\"main\",\"scriptId\":\"7\",\"url\":\"/app/server.js\",\"lineNumber\":0,\
             \"columnNumber\":9},\"selfSize\":64,\"id\":2,\"children\":[{"
        ), "{json}");
        assert!(json.contains("\"functionName\":\"handleLogin\""));
        assert!(json.contains(
            "\"id\":4,\"children\":[{\"callFrame\":{\"functionName\":\"\",\"scriptId\":\"7\""
        ));
        assert!(json.ends_with(
            "\"samples\":[{\"size\":1000,\"nodeId\":3,\"ordinal\":1300},{\"size\":1000,\"nodeId\":3,\
             \"ordinal\":1301},{\"size\":1000,\"nodeId\":5,\"ordinal\":1500}]}"
        ));
        // Brackets balance: every node closed.
        let opens = json.matches('[').count();
        assert_eq!(opens, json.matches(']').count());
        assert_eq!(opens, 6); // 5 children arrays + samples
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut s = String::new();
        push_json_quoted(&mut s, "a\"b\\c\n\u{1}é");
        assert_eq!(s, "\"a\\\"b\\\\c\\n\\u0001é\"");
    }

    /// A profile of `frames` as (frame name, parent index) in pre-order,
    /// numbered from `first_node`, and samples as (node, bytes, ordinal).
    /// A function's line (and so its position) comes from its name.
    fn profile(
        tracker: &mut SiteTracker,
        frames: &[(&str, Option<u32>)],
        first_node: u32,
        samples: &[(u32, u64, u64)],
    ) -> Profile {
        let mut t = T {
            b: tracker.builder(),
        };
        let ids: Vec<u32> = frames
            .iter()
            .map(|(name, _)| t.frame(name, name.bytes().map(i32::from).sum::<i32>()))
            .collect();
        for (i, (_, parent)) in frames.iter().enumerate() {
            t.b.node(*parent, ids[i], first_node + i as u32, 0).unwrap();
        }
        for &(node, bytes, ordinal) in samples {
            t.b.sample(node, bytes, ordinal).unwrap();
        }
        t.b.finish()
    }

    #[test]
    fn a_later_read_of_the_same_profiler_continues_it() {
        let mut tr = SiteTracker::new();
        let tree = [
            ("(root)", None),
            ("main", Some(0)),
            ("handleLogin", Some(1)),
        ];
        let first = profile(&mut tr, &tree, 1, &[(3, 1000, 1), (3, 2000, 2), (2, 64, 3)]);
        assert!(tr.record(first, Some(1)));
        // Sample 1 was collected, 4 and 5 are new, and a node (4) was added.
        let tree2 = [
            ("(root)", None),
            ("main", Some(0)),
            ("handleLogin", Some(1)),
            ("handleSearch", Some(1)),
        ];
        let later = profile(
            &mut tr,
            &tree2,
            1,
            &[(3, 2000, 2), (2, 64, 3), (4, 512, 4), (3, 8, 5)],
        );
        assert!(tr.record(later, Some(2)));
        assert_eq!(tr.reads.len(), 2);
    }

    #[test]
    fn a_profiler_started_in_between_does_not_continue_the_earlier_one() {
        let mut tr = SiteTracker::new();
        let tree = [
            ("(root)", None),
            ("main", Some(0)),
            ("handleLogin", Some(1)),
        ];
        let ours = profile(&mut tr, &tree, 1, &[(3, 1000, 1), (3, 2000, 2), (2, 64, 3)]);
        assert!(tr.record(ours.clone(), Some(1)));
        // Theirs numbers from 1 again: node 2 is another function.
        let other = [("(root)", None), ("render", Some(0))];
        let theirs = profile(&mut tr, &other, 1, &[]);
        assert!(ours.continues(&ours) && !theirs.continues(&ours));
        assert!(!tr.record(theirs, Some(2)));
        // The earlier reads were forgotten: the new one is the only baseline.
        assert_eq!(tr.reads.len(), 1);
        // Same tree, but sample 2 now has another size: not the same profiler.
        let mut tr = SiteTracker::new();
        let a = profile(&mut tr, &tree, 1, &[(3, 1000, 1), (3, 2000, 2)]);
        let b = profile(&mut tr, &tree, 1, &[(3, 4096, 2)]);
        assert!(!b.continues(&a));
        // Only the root so far: indistinguishable (documented).
        let root = profile(&mut tr, &tree[..1], 1, &[]);
        assert!(root.continues(&a));
    }
}
