//! Streaming parser of V8's `.heapsnapshot` JSON into a [`HeapGraph`].
//!
//! Why streaming: a snapshot is hundreds of MB of text whose bulk is two flat
//! integer arrays. They are read number by number straight into the graph's
//! columns; nothing holds the text or a JSON tree, so memory is the graph's
//! own (~22 bytes a node, 9 an edge, plus the strings).
//!
//! Layout handled (V8 writes the keys in this order; any order works as long
//! as `snapshot.meta` precedes `nodes` and `edges`):
//! `{"snapshot":{"meta":{...},"node_count":N,"edge_count":M,...},
//!   "nodes":[...],"edges":[...],"trace_function_infos":[...],"trace_tree":[...],
//!   "samples":[...],"locations":[...],"strings":[...]}`.
//! Unknown keys are skipped (`trace_function_infos`, `trace_tree`, `samples`
//! are not needed); `snapshot.root_index` and `locations` (with
//! `meta.location_fields`) are read as DevTools reads them. Because `strings`
//! comes last, names are kept as indices and range-checked once the strings
//! are in; the largest index seen is remembered with its byte offset so the
//! error can still say where.

use std::io::Read;

use super::error::ParseError;
use super::graph::{HeapGraph, Location, MAX_EDGES, MAX_NODES};
use super::kinds::{EdgeKind, NodeKind};
use super::lexer::{LexResult, Lexer};
use super::strings::StringTable;

/// Preallocation is capped at these counts whatever the header claims, so a
/// lying `node_count` cannot reserve memory the file does not back; beyond
/// them the columns grow as the numbers actually arrive.
const MAX_PREALLOC_NODES: u64 = 1 << 22;
const MAX_PREALLOC_EDGES: u64 = 1 << 24;

/// Parses a whole snapshot from `reader` (a file, a pipe, Node's stream).
/// The reader need not be buffered: the parser reads 1 MB chunks itself.
pub fn parse_heap_snapshot<R: Read>(reader: R) -> Result<HeapGraph, ParseError> {
    parse(Lexer::new(reader, None))
}

/// Like [`parse_heap_snapshot`], calling `progress` with the number of bytes
/// read so far after every chunk (for a progress bar).
pub fn parse_heap_snapshot_with_progress<R: Read>(
    reader: R,
    progress: &mut dyn FnMut(u64),
) -> Result<HeapGraph, ParseError> {
    parse(Lexer::new(reader, Some(progress)))
}

/// Where each needed node field sits in a node record, from `meta.node_fields`.
struct NodeLayout {
    fields: usize,
    kind: usize,
    name: usize,
    id: usize,
    self_size: usize,
    edge_count: usize,
    detachedness: Option<usize>,
    /// File's type index -> `NodeKind as u8`.
    kinds: Vec<u8>,
}

/// Where each edge field sits in an edge record, from `meta.edge_fields`.
struct EdgeLayout {
    fields: usize,
    kind: usize,
    name: usize,
    to: usize,
    /// File's type index -> `EdgeKind as u8`.
    kinds: Vec<u8>,
}

/// Where each field sits in a `locations` record, from `meta.location_fields`.
struct LocationLayout {
    fields: usize,
    node: usize,
    script: usize,
    line: usize,
    column: usize,
}

struct Meta {
    nodes: NodeLayout,
    edges: EdgeLayout,
    /// `None` when the meta lists no `location_fields` (DevTools then ignores
    /// `locations` too).
    locations: Option<LocationLayout>,
}

/// The counts past which a snapshot is refused (lowered in tests).
#[derive(Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) nodes: u64,
    pub(crate) edges: u64,
}

impl Limits {
    pub(crate) const ENGINE: Limits = Limits {
        nodes: MAX_NODES,
        edges: MAX_EDGES,
    };
}

/// The largest index of some sort seen so far, and where.
#[derive(Default)]
struct MaxRef(Option<(u64, u64)>);

impl MaxRef {
    #[inline]
    fn note(&mut self, value: u64, offset: u64) {
        match self.0 {
            Some((max, _)) if max >= value => {}
            _ => self.0 = Some((value, offset)),
        }
    }

    /// The first offending (value, offset) if the max is not below `limit`.
    fn beyond(&self, limit: u64) -> Option<(u64, u64)> {
        self.0.filter(|&(max, _)| max >= limit)
    }
}

/// Everything gathered while reading the top-level object.
struct State {
    graph: HeapGraph,
    meta: Option<Meta>,
    node_count_hint: Option<u64>,
    edge_count_hint: Option<u64>,
    seen_nodes: bool,
    seen_edges: bool,
    seen_strings: bool,
    /// Offset just past the `edges` array, for the edge-count message.
    edges_end: u64,
    nodes_start: u64,
    node_names: MaxRef,
    edge_names: MaxRef,
    edge_targets: MaxRef,
    /// `snapshot.root_index` and its offset.
    root_index: Option<(u64, u64)>,
    seen_locations: bool,
    location_nodes: MaxRef,
    limits: Limits,
}

fn parse<R: Read>(lx: Lexer<'_, R>) -> Result<HeapGraph, ParseError> {
    parse_with_limits(lx, Limits::ENGINE)
}

pub(crate) fn parse_with_limits<R: Read>(
    mut lx: Lexer<'_, R>,
    limits: Limits,
) -> Result<HeapGraph, ParseError> {
    let mut st = State {
        graph: HeapGraph::empty(),
        meta: None,
        node_count_hint: None,
        edge_count_hint: None,
        seen_nodes: false,
        seen_edges: false,
        seen_strings: false,
        edges_end: 0,
        nodes_start: 0,
        node_names: MaxRef::default(),
        edge_names: MaxRef::default(),
        edge_targets: MaxRef::default(),
        root_index: None,
        seen_locations: false,
        location_nodes: MaxRef::default(),
        limits,
    };
    match lx.peek_token()? {
        Some(b'{') => {}
        Some(_) => return Err(lx.error("not a heap snapshot: expected a JSON object")),
        None => return Err(lx.error("empty input: expected a heap snapshot")),
    }
    if lx.open(b'{', "the snapshot object")? {
        loop {
            let key_at = lx.offset();
            let key = lx.read_string("a top-level key")?;
            lx.expect(b':', "the snapshot object")?;
            match key.as_str() {
                "snapshot" => read_header(&mut lx, &mut st)?,
                "nodes" => {
                    once(&mut st.seen_nodes, "nodes", key_at)?;
                    read_nodes(&mut lx, &mut st, key_at)?;
                }
                "edges" => {
                    once(&mut st.seen_edges, "edges", key_at)?;
                    read_edges(&mut lx, &mut st, key_at)?;
                }
                "strings" => {
                    once(&mut st.seen_strings, "strings", key_at)?;
                    st.graph.strings = read_strings(&mut lx)?;
                }
                "locations" => {
                    once(&mut st.seen_locations, "locations", key_at)?;
                    read_locations(&mut lx, &mut st, key_at)?;
                }
                other => lx.skip_value(&quoted(other))?,
            }
            if !lx.object_continues("the snapshot object")? {
                break;
            }
        }
    }
    let end = lx.offset();
    if !lx.at_end()? {
        return Err(lx.error("trailing data after the snapshot object"));
    }
    finish(st, end)
}

/// A key from the file as shown in a message: escaped (one line) and short.
fn quoted(key: &str) -> String {
    let short: String = key.chars().take(40).collect();
    format!("{short:?}")
}

fn once(seen: &mut bool, key: &str, at: u64) -> LexResult<()> {
    if std::mem::replace(seen, true) {
        return Err(ParseError::new(at, format!("duplicate \"{key}\" key")));
    }
    Ok(())
}

/// `"snapshot": {"meta": {...}, "node_count": N, "edge_count": M, ...}`.
fn read_header<R: Read>(lx: &mut Lexer<'_, R>, st: &mut State) -> LexResult<()> {
    let start = lx.offset();
    if st.meta.is_some() {
        return Err(ParseError::new(start, "duplicate \"snapshot\" key"));
    }
    if lx.open(b'{', "\"snapshot\"")? {
        loop {
            let key = lx.read_string("a key of \"snapshot\"")?;
            lx.expect(b':', "\"snapshot\"")?;
            match key.as_str() {
                "meta" => st.meta = Some(read_meta(lx)?),
                "node_count" => st.node_count_hint = Some(lx.read_uint("snapshot.node_count")?),
                "edge_count" => st.edge_count_hint = Some(lx.read_uint("snapshot.edge_count")?),
                "root_index" => {
                    let at = lx.offset();
                    let value = lx.read_uint("snapshot.root_index")?;
                    st.root_index = Some((value, at));
                }
                other => lx.skip_value(&format!("snapshot.{}", quoted(other)))?,
            }
            if !lx.object_continues("\"snapshot\"")? {
                break;
            }
        }
    }
    if st.meta.is_none() {
        return Err(ParseError::new(start, "\"snapshot\" has no \"meta\""));
    }
    Ok(())
}

/// `"meta": {"node_fields": [...], "node_types": [[...], ...], "edge_fields": [...], "edge_types": [...], ...}`.
fn read_meta<R: Read>(lx: &mut Lexer<'_, R>) -> LexResult<Meta> {
    let start = lx.offset();
    let mut node_fields = None;
    let mut node_types = None;
    let mut edge_fields = None;
    let mut edge_types = None;
    let mut location_fields = None;
    if lx.open(b'{', "snapshot.meta")? {
        loop {
            let key = lx.read_string("a key of snapshot.meta")?;
            lx.expect(b':', "snapshot.meta")?;
            match key.as_str() {
                "node_fields" => {
                    node_fields = Some(read_string_list(lx, "snapshot.meta.node_fields")?)
                }
                "node_types" => node_types = Some(read_type_lists(lx, "snapshot.meta.node_types")?),
                "edge_fields" => {
                    edge_fields = Some(read_string_list(lx, "snapshot.meta.edge_fields")?)
                }
                "edge_types" => edge_types = Some(read_type_lists(lx, "snapshot.meta.edge_types")?),
                "location_fields" => {
                    location_fields = Some(read_string_list(lx, "snapshot.meta.location_fields")?)
                }
                other => lx.skip_value(&format!("snapshot.meta.{}", quoted(other)))?,
            }
            if !lx.object_continues("snapshot.meta")? {
                break;
            }
        }
    }
    let missing = |what: &str| ParseError::new(start, format!("snapshot.meta has no \"{what}\""));
    let node_fields = node_fields.ok_or_else(|| missing("node_fields"))?;
    let node_types = node_types.ok_or_else(|| missing("node_types"))?;
    let edge_fields = edge_fields.ok_or_else(|| missing("edge_fields"))?;
    let edge_types = edge_types.ok_or_else(|| missing("edge_types"))?;

    let field = |fields: &[String], list: &str, name: &str| {
        fields
            .iter()
            .position(|f| f == name)
            .ok_or_else(|| ParseError::new(start, format!("snapshot.meta.{list} lacks \"{name}\"")))
    };
    // The names sit at the `type` field's position; if a writer put them
    // elsewhere, the only list present is taken instead.
    let type_names = |types: &[Option<Vec<String>>], list: &str, at: usize| {
        let mut lists = types.iter().flatten();
        let only = match (lists.next(), lists.next()) {
            (Some(l), None) => Some(l.clone()),
            _ => None,
        };
        types.get(at).cloned().flatten().or(only).ok_or_else(|| {
            ParseError::new(
                start,
                format!("snapshot.meta.{list}[{at}] is not the list of type names"),
            )
        })
    };

    let kind = field(&node_fields, "node_fields", "type")?;
    let node_kinds = type_names(&node_types, "node_types", kind)?
        .iter()
        .map(|name| NodeKind::from_name(name) as u8)
        .collect();
    let nodes = NodeLayout {
        fields: node_fields.len(),
        kind,
        name: field(&node_fields, "node_fields", "name")?,
        id: field(&node_fields, "node_fields", "id")?,
        self_size: field(&node_fields, "node_fields", "self_size")?,
        edge_count: field(&node_fields, "node_fields", "edge_count")?,
        detachedness: node_fields.iter().position(|f| f == "detachedness"),
        kinds: node_kinds,
    };
    let kind = field(&edge_fields, "edge_fields", "type")?;
    let edge_kinds = type_names(&edge_types, "edge_types", kind)?
        .iter()
        .map(|name| EdgeKind::from_name(name) as u8)
        .collect();
    let edges = EdgeLayout {
        fields: edge_fields.len(),
        kind,
        name: field(&edge_fields, "edge_fields", "name_or_index")?,
        to: field(&edge_fields, "edge_fields", "to_node")?,
        kinds: edge_kinds,
    };
    let locations = match location_fields {
        None => None,
        Some(fields) => Some(LocationLayout {
            fields: fields.len(),
            node: field(&fields, "location_fields", "object_index")?,
            script: field(&fields, "location_fields", "script_id")?,
            line: field(&fields, "location_fields", "line")?,
            column: field(&fields, "location_fields", "column")?,
        }),
    };
    Ok(Meta {
        nodes,
        edges,
        locations,
    })
}

fn read_string_list<R: Read>(lx: &mut Lexer<'_, R>, what: &str) -> LexResult<Vec<String>> {
    let mut out = Vec::new();
    if lx.open(b'[', what)? {
        loop {
            out.push(lx.read_string(what)?);
            if !lx.array_continues(what)? {
                break;
            }
        }
    }
    Ok(out)
}

/// `node_types` / `edge_types`: per field, a list of type names (for the
/// `type` field) or a plain string such as `"number"` (kept as `None`).
fn read_type_lists<R: Read>(
    lx: &mut Lexer<'_, R>,
    what: &str,
) -> LexResult<Vec<Option<Vec<String>>>> {
    let mut out = Vec::new();
    if lx.open(b'[', what)? {
        loop {
            if lx.peek_token_in(what)? == b'[' {
                out.push(Some(read_string_list(lx, what)?));
            } else {
                lx.skip_value(what)?;
                out.push(None);
            }
            if !lx.array_continues(what)? {
                break;
            }
        }
    }
    Ok(out)
}

fn reserve_hint(hint: Option<u64>, cap: u64) -> usize {
    usize::try_from(hint.unwrap_or(0).min(cap)).unwrap_or(0)
}

fn read_nodes<R: Read>(lx: &mut Lexer<'_, R>, st: &mut State, key_at: u64) -> LexResult<()> {
    let Some(meta) = st.meta.as_ref() else {
        return Err(ParseError::new(
            key_at,
            "\"nodes\" comes before snapshot.meta",
        ));
    };
    let layout = &meta.nodes;
    let g = &mut st.graph;
    let reserve = reserve_hint(st.node_count_hint, MAX_PREALLOC_NODES);
    g.node_type.reserve(reserve);
    g.node_name.reserve(reserve);
    g.node_id.reserve(reserve);
    g.node_self_size.reserve(reserve);
    g.first_edge.reserve(reserve);
    if layout.detachedness.is_some() {
        g.node_detachedness = Some(Vec::with_capacity(reserve));
    }
    let node_names = &mut st.node_names;
    let limits = st.limits;
    let mut declared_edges = 0u64;
    let mut values = vec![0u64; layout.fields];
    let mut offsets = vec![0u64; layout.fields];
    let mut k = 0;
    st.nodes_start = lx.offset();
    let total = lx.read_uint_array("nodes", |value, at| {
        values[k] = value;
        offsets[k] = at;
        k += 1;
        if k == layout.fields {
            k = 0;
            push_node(
                g,
                layout,
                &values,
                &offsets,
                node_names,
                &mut declared_edges,
                limits,
            )?;
        }
        Ok(())
    })?;
    if k != 0 {
        return Err(lx.error(format!(
            "\"nodes\" has {total} numbers, not a multiple of the {} node fields",
            layout.fields
        )));
    }
    if g.node_type.is_empty() {
        return Err(ParseError::new(
            st.nodes_start,
            "\"nodes\" is empty (node 0 must be the root)",
        ));
    }
    Ok(())
}

#[inline]
fn push_node(
    g: &mut HeapGraph,
    layout: &NodeLayout,
    values: &[u64],
    offsets: &[u64],
    node_names: &mut MaxRef,
    declared_edges: &mut u64,
    limits: Limits,
) -> LexResult<()> {
    let node = g.node_type.len() as u64;
    if node >= limits.nodes {
        return Err(ParseError::new(
            offsets[0],
            format!(
                "more than {} nodes, the engine's limit (32-bit node indices)",
                limits.nodes
            ),
        ));
    }
    let type_index = values[layout.kind];
    let kind = usize::try_from(type_index)
        .ok()
        .and_then(|i| layout.kinds.get(i))
        .ok_or_else(|| {
            ParseError::new(
                offsets[layout.kind],
                format!(
                    "node {node} has type index {type_index}, but snapshot.meta.node_types lists {} types",
                    layout.kinds.len()
                ),
            )
        })?;
    let name = fits_u32(values[layout.name], offsets[layout.name], "node name index")?;
    node_names.note(u64::from(name), offsets[layout.name]);
    let id = fits_u32(values[layout.id], offsets[layout.id], "node id")?;
    let edge_count = values[layout.edge_count];
    *declared_edges = declared_edges.saturating_add(edge_count);
    if *declared_edges > limits.edges {
        return Err(ParseError::new(
            offsets[layout.edge_count],
            format!(
                "the nodes' edge counts add up to more than {} edges, the engine's limit (32-bit edge indices)",
                limits.edges
            ),
        ));
    }
    if let (Some(column), Some(field)) = (g.node_detachedness.as_mut(), layout.detachedness) {
        let d = u8::try_from(values[field]).map_err(|_| {
            ParseError::new(
                offsets[field],
                format!("node detachedness {} is not 0, 1 or 2", values[field]),
            )
        })?;
        column.push(d);
    }
    g.node_type.push(*kind);
    g.node_name.push(name);
    g.node_id.push(id);
    g.node_self_size.push(values[layout.self_size]);
    g.first_edge.push(*declared_edges as u32);
    Ok(())
}

fn fits_u32(value: u64, offset: u64, what: &str) -> LexResult<u32> {
    u32::try_from(value)
        .map_err(|_| ParseError::new(offset, format!("{what} {value} does not fit in 32 bits")))
}

fn read_edges<R: Read>(lx: &mut Lexer<'_, R>, st: &mut State, key_at: u64) -> LexResult<()> {
    let Some(meta) = st.meta.as_ref() else {
        return Err(ParseError::new(
            key_at,
            "\"edges\" comes before snapshot.meta",
        ));
    };
    let layout = &meta.edges;
    let node_fields = meta.nodes.fields as u64;
    let g = &mut st.graph;
    let reserve = reserve_hint(st.edge_count_hint, MAX_PREALLOC_EDGES);
    g.edge_type.reserve(reserve);
    g.edge_name.reserve(reserve);
    g.edge_to.reserve(reserve);
    let edge_names = &mut st.edge_names;
    let edge_targets = &mut st.edge_targets;
    let bounds = EdgeBounds {
        node_fields,
        max_edges: st.limits.edges,
    };
    let mut values = vec![0u64; layout.fields];
    let mut offsets = vec![0u64; layout.fields];
    let mut k = 0;
    let total = lx.read_uint_array("edges", |value, at| {
        values[k] = value;
        offsets[k] = at;
        k += 1;
        if k == layout.fields {
            k = 0;
            push_edge(
                g,
                layout,
                bounds,
                &values,
                &offsets,
                edge_names,
                edge_targets,
            )?;
        }
        Ok(())
    })?;
    if k != 0 {
        return Err(lx.error(format!(
            "\"edges\" has {total} numbers, not a multiple of the {} edge fields",
            layout.fields
        )));
    }
    st.edges_end = lx.offset();
    Ok(())
}

/// What an edge record is checked against.
#[derive(Clone, Copy)]
struct EdgeBounds {
    /// Fields per node record (`to_node` is an offset into "nodes").
    node_fields: u64,
    max_edges: u64,
}

#[inline]
fn push_edge(
    g: &mut HeapGraph,
    layout: &EdgeLayout,
    bounds: EdgeBounds,
    values: &[u64],
    offsets: &[u64],
    edge_names: &mut MaxRef,
    edge_targets: &mut MaxRef,
) -> LexResult<()> {
    let EdgeBounds {
        node_fields,
        max_edges,
    } = bounds;
    let edge = g.edge_to.len() as u64;
    if edge >= max_edges {
        return Err(ParseError::new(
            offsets[0],
            format!("more than {max_edges} edges, the engine's limit (32-bit edge indices)"),
        ));
    }
    let type_index = values[layout.kind];
    let kind = *usize::try_from(type_index)
        .ok()
        .and_then(|i| layout.kinds.get(i))
        .ok_or_else(|| {
            ParseError::new(
                offsets[layout.kind],
                format!(
                    "edge {edge} has type index {type_index}, but snapshot.meta.edge_types lists {} types",
                    layout.kinds.len()
                ),
            )
        })?;
    let name = fits_u32(
        values[layout.name],
        offsets[layout.name],
        "edge name_or_index",
    )?;
    if EdgeKind::from_u8(kind).has_string_name() {
        edge_names.note(u64::from(name), offsets[layout.name]);
    }
    let to_field = values[layout.to];
    if to_field.checked_rem(node_fields) != Some(0) {
        return Err(ParseError::new(
            offsets[layout.to],
            format!(
                "edge {edge} has to_node {to_field}, not a multiple of the {node_fields} node fields"
            ),
        ));
    }
    let to = fits_u32(
        to_field / node_fields,
        offsets[layout.to],
        "edge target node index",
    )?;
    edge_targets.note(u64::from(to), offsets[layout.to]);
    g.edge_type.push(kind);
    g.edge_name.push(name);
    g.edge_to.push(to);
    Ok(())
}

/// `"locations": [object_index, script_id, line, column, ...]`: where the
/// constructor of an object (or a closure's function) is. Skipped, as
/// DevTools skips it, when the meta has no `location_fields`.
fn read_locations<R: Read>(lx: &mut Lexer<'_, R>, st: &mut State, key_at: u64) -> LexResult<()> {
    let Some(meta) = st.meta.as_ref() else {
        return Err(ParseError::new(
            key_at,
            "\"locations\" comes before snapshot.meta",
        ));
    };
    let Some(layout) = meta.locations.as_ref() else {
        return lx.skip_value("\"locations\"");
    };
    let node_fields = meta.nodes.fields as u64;
    let locations = &mut st.graph.locations;
    let location_nodes = &mut st.location_nodes;
    let mut interned: rustc_hash::FxHashMap<Location, u32> = Default::default();
    let mut last: Option<(Location, u32)> = None;
    let mut values = vec![0u64; layout.fields];
    let mut offsets = vec![0u64; layout.fields];
    let mut k = 0;
    let total = lx.read_uint_array("locations", |value, at| {
        values[k] = value;
        offsets[k] = at;
        k += 1;
        if k < layout.fields {
            return Ok(());
        }
        k = 0;
        let object_index = values[layout.node];
        if object_index % node_fields != 0 {
            return Err(ParseError::new(
                offsets[layout.node],
                format!(
                    "location object_index {object_index}, not a multiple of the {node_fields} node fields"
                ),
            ));
        }
        let node = fits_u32(
            object_index / node_fields,
            offsets[layout.node],
            "location node index",
        )?;
        location_nodes.note(u64::from(node), offsets[layout.node]);
        let location = Location {
            script_id: fits_u32(values[layout.script], offsets[layout.script], "location script_id")?,
            line: fits_u32(values[layout.line], offsets[layout.line], "location line")?,
            column: fits_u32(values[layout.column], offsets[layout.column], "location column")?,
        };
        // Objects of one constructor tend to come in a row: skip the hash then.
        let index = match last {
            Some((l, i)) if l == location => i,
            _ => {
                let next = locations.table.len() as u32;
                let index = *interned.entry(location).or_insert(next);
                if index == next {
                    locations.table.push(location);
                }
                index
            }
        };
        last = Some((location, index));
        locations
            .by_node
            .push((u64::from(node) << 32) | u64::from(index));
        Ok(())
    })?;
    if k != 0 {
        return Err(lx.error(format!(
            "\"locations\" has {total} numbers, not a multiple of the {} location fields",
            layout.fields
        )));
    }
    Ok(())
}

/// `"strings": ["<dummy>", "name", ...]` into one buffer.
fn read_strings<R: Read>(lx: &mut Lexer<'_, R>) -> LexResult<StringTable> {
    let start = lx.offset();
    let mut text = Vec::new();
    let mut ends = Vec::new();
    if lx.open(b'[', "\"strings\"")? {
        loop {
            lx.read_string_into(&mut text, "\"strings\"")?;
            ends.push(text.len());
            if !lx.array_continues("\"strings\"")? {
                break;
            }
        }
    }
    text.shrink_to_fit();
    ends.shrink_to_fit();
    // Each string was checked as UTF-8 when read, so neither step can fail;
    // still, an error value rather than a panic.
    let bad = || ParseError::new(start, "\"strings\" is not valid UTF-8");
    let text = String::from_utf8(text).map_err(|_| bad())?;
    StringTable::from_parts(text, ends).ok_or_else(bad)
}

/// The checks that need the whole file: presence, counts, index ranges.
fn finish(st: State, end: u64) -> Result<HeapGraph, ParseError> {
    for (seen, key) in [
        (st.meta.is_some(), "snapshot"),
        (st.seen_nodes, "nodes"),
        (st.seen_edges, "edges"),
        (st.seen_strings, "strings"),
    ] {
        if !seen {
            return Err(ParseError::new(
                end,
                format!("no \"{key}\" in the snapshot"),
            ));
        }
    }
    let mut g = st.graph;
    let nodes = g.node_type.len() as u64;
    let edges = g.edge_to.len() as u64;
    let declared = u64::from(g.first_edge.last().copied().unwrap_or(0));
    if declared != edges {
        let relation = if declared > edges { "more" } else { "fewer" };
        return Err(ParseError::new(
            st.edges_end,
            format!(
                "the nodes' edge_count fields add up to {declared}, {relation} than the {edges} edges in \"edges\""
            ),
        ));
    }
    let strings = g.strings.len() as u64;
    if let Some((name, at)) = st.node_names.beyond(strings) {
        return Err(ParseError::new(
            at,
            format!("node name string index {name} is out of range ({strings} strings)"),
        ));
    }
    if let Some((name, at)) = st.edge_names.beyond(strings) {
        return Err(ParseError::new(
            at,
            format!("edge name string index {name} is out of range ({strings} strings)"),
        ));
    }
    if let Some((to, at)) = st.edge_targets.beyond(nodes) {
        return Err(ParseError::new(
            at,
            format!("edge points to node {to}, but there are only {nodes} nodes"),
        ));
    }
    if let Some((node, at)) = st.location_nodes.beyond(nodes) {
        return Err(ParseError::new(
            at,
            format!("a location names node {node}, but there are only {nodes} nodes"),
        ));
    }
    if let Some((root_index, at)) = st.root_index {
        // As DevTools reads it: an offset into "nodes", so a multiple of the
        // node fields (0 when absent).
        let fields = st.meta.as_ref().map_or(1, |m| m.nodes.fields as u64);
        if root_index % fields != 0 || root_index / fields >= nodes {
            return Err(ParseError::new(
                at,
                format!(
                    "snapshot.root_index {root_index} is not the offset of a node (a multiple of the {fields} node fields below {})",
                    nodes.saturating_mul(fields)
                ),
            ));
        }
        g.root = (root_index / fields) as u32;
    }
    g.locations.seal();
    for column in [
        &mut g.node_name,
        &mut g.node_id,
        &mut g.first_edge,
        &mut g.edge_name,
        &mut g.edge_to,
    ] {
        column.shrink_to_fit();
    }
    g.node_type.shrink_to_fit();
    g.edge_type.shrink_to_fit();
    g.node_self_size.shrink_to_fit();
    // The checks above cover every invariant; this re-check is the safety net
    // that keeps later indexing panic-free whatever was missed.
    g.validate()
        .map_err(|e| ParseError::new(end, format!("invalid graph: {e}")))?;
    Ok(g)
}
