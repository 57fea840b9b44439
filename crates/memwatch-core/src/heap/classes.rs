//! Naming nodes by class, and DevTools' "Summary" view: per-class counts,
//! self sizes and retained sizes.
//!
//! Two namings: [`Classes::devtools`] follows DevTools (`calculateObjectNames`,
//! the `{a, b}` interfaces of plain objects, detached DOM names, and class
//! keys that keep same-named constructors from different places apart);
//! [`memwatch_class`] follows memwatch's original `HeapDiff` (`what`).

use rustc_hash::FxHashMap as HashMap;

use super::dominators::{dominators, Dominators};
use super::essential::Bits;
use super::graph::{HeapGraph, Location, NONE};
use super::interfaces::Interfaces;
use super::kinds::{EdgeKind, NodeKind};
use super::names::PlainObjects;
use super::toplevel::top_level_retained;

/// Where a node's class name comes from, in memwatch's naming.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClassSource {
    /// The node's own name (a constructor name for objects).
    Name,
    /// A fixed label per node type.
    Fixed(&'static str),
    /// The node is not classified (engine internals).
    Skip,
}

/// memwatch 0.2's `HeapDiff` rules: constructor name for objects, a fixed
/// word for the other user-visible types; engine internals are skipped.
pub(crate) fn memwatch_source(kind: NodeKind) -> ClassSource {
    ClassSource::Fixed(match kind {
        NodeKind::Object => return ClassSource::Name,
        NodeKind::Array => "Array",
        NodeKind::String | NodeKind::ConsString | NodeKind::SlicedString => "String",
        NodeKind::Code => "Code",
        NodeKind::Closure => "Closure",
        NodeKind::RegExp => "RegExp",
        NodeKind::Number => "Number",
        NodeKind::Native => "Native",
        NodeKind::Symbol => "Symbol",
        NodeKind::BigInt => "BigInt",
        NodeKind::Hidden
        | NodeKind::Synthetic
        | NodeKind::ObjectShape
        | NodeKind::WasmObject
        | NodeKind::Unknown => return ClassSource::Skip,
    })
}

/// memwatch's names, except V8's compiled code and heap numbers, which get
/// DevTools' labels: objects of a user's class named `Code` or `Number` then
/// stay apart from them (memwatch.iterate discounts the engine's own kinds).
pub(crate) fn engine_apart_source(kind: NodeKind) -> ClassSource {
    match kind {
        NodeKind::Code => ClassSource::Fixed("(compiled code)"),
        NodeKind::Number => ClassSource::Fixed("(number)"),
        other => memwatch_source(other),
    }
}

pub(crate) fn name_by(source: ClassSource, graph: &HeapGraph, node: u32) -> Option<&str> {
    match source {
        ClassSource::Name => Some(graph.node_name(node)),
        ClassSource::Fixed(label) => Some(label),
        ClassSource::Skip => None,
    }
}

/// The `what` memwatch's heap diff reports for `node`: the constructor name
/// for objects; `Array`, `String`, `Code`, `Closure`, `RegExp`, `Number`,
/// `Native`, `Symbol`, `BigInt` for the rest; `None` for hidden, synthetic
/// and object-shape nodes, which are not counted.
pub fn memwatch_class(graph: &HeapGraph, node: u32) -> Option<&str> {
    name_by(memwatch_source(graph.node_kind(node)), graph, node)
}

/// Class names numbered densely; may span several graphs (for diffs).
#[derive(Clone, Debug, Default)]
pub(crate) struct ClassIndex {
    ids: HashMap<String, u32>,
    pub(crate) names: Vec<String>,
}

impl ClassIndex {
    pub(crate) fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(name.to_owned(), id);
        self.names.push(name.to_owned());
        id
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
}

/// DevTools' label for a node type that is not named by the node itself.
fn devtools_label(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Hidden => "(system)",
        NodeKind::Code => "(compiled code)",
        NodeKind::Closure => "Function",
        NodeKind::RegExp => "RegExp",
        NodeKind::Array => "(array)",
        NodeKind::String => "(string)",
        NodeKind::ConsString => "(concatenated string)",
        NodeKind::SlicedString => "(sliced string)",
        NodeKind::Number => "(number)",
        NodeKind::Synthetic => "(synthetic)",
        NodeKind::Symbol => "(symbol)",
        NodeKind::BigInt => "(bigint)",
        NodeKind::ObjectShape => "(object shape)",
        NodeKind::WasmObject => "(wasm object)",
        NodeKind::Object | NodeKind::Native | NodeKind::Unknown => "(unknown)",
    }
}

/// DevTools' short form of a DOM node name: `<div id="a">` files under
/// `<div>`, `Detached <div class="b">` under `Detached <div>`. `None` when
/// the name is not an element's.
fn element_class(name: &str) -> Option<String> {
    let from = if name.starts_with('<') {
        0
    } else if name.starts_with("Detached <") {
        10
    } else {
        return None;
    };
    Some(match name[from..].find(' ') {
        Some(space) => format!("{}>", &name[..from + space]),
        None => name.to_owned(),
    })
}

/// Native nodes DevTools renames `Detached <name>`: its `propagateDOMState`,
/// from the snapshot's `detachedness` (attached spreads first, then detached,
/// through native nodes only, over edges that are not hidden or weak).
fn detached_natives(graph: &HeapGraph) -> Option<Bits> {
    let original = graph.node_detachedness.as_ref()?;
    let n = graph.node_count();
    let mut state = original.clone();
    let mut visited = Bits::new(n);
    let mut renamed = Bits::new(n);
    let (mut attached, mut detached) = (Vec::new(), Vec::new());
    let mut process = |v: u32,
                       new_state: u8,
                       state: &mut Vec<u8>,
                       attached: &mut Vec<u32>,
                       detached: &mut Vec<u32>| {
        if visited.get(v) {
            return;
        }
        visited.set(v);
        if graph.node_kind(v) != NodeKind::Native {
            return;
        }
        state[v as usize] = new_state;
        match new_state {
            1 => attached.push(v),
            2 => {
                renamed.set(v);
                detached.push(v);
            }
            _ => {}
        }
    };
    for v in 0..n as u32 {
        let s = state[v as usize];
        if s != 0 {
            process(v, s, &mut state, &mut attached, &mut detached);
        }
    }
    let spreads = |e: u32| !matches!(graph.edge_kind(e), EdgeKind::Hidden | EdgeKind::Weak);
    while let Some(v) = attached.pop() {
        for e in graph.edges(v).filter(|&e| spreads(e)) {
            process(
                graph.edge_to(e),
                1,
                &mut state,
                &mut attached,
                &mut detached,
            );
        }
    }
    while let Some(v) = detached.pop() {
        if state[v as usize] == 1 {
            continue;
        }
        for e in graph.edges(v).filter(|&e| spreads(e)) {
            process(
                graph.edge_to(e),
                2,
                &mut state,
                &mut attached,
                &mut detached,
            );
        }
    }
    Some(renamed)
}

/// What a class name is, as DevTools tells them apart: a name string of the
/// snapshot is one class even if another string has the same text (V8
/// writes each text once), while names DevTools makes up are compared by
/// text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum NameKey {
    /// A string of the snapshot.
    Raw(u32),
    /// A label or an element name DevTools adds (by text).
    Added(String),
    /// A plain-object interface (by definition).
    Interface(u32),
    /// `Detached ` + a string of the snapshot.
    Detached(u32),
}

/// Class names interned by [`NameKey`].
#[derive(Default)]
struct NameTable {
    ids: HashMap<NameKey, u32>,
    names: Vec<String>,
}

impl NameTable {
    fn id(&mut self, key: NameKey, text: impl FnOnce() -> String) -> u32 {
        let names = &mut self.names;
        *self.ids.entry(key).or_insert_with(|| {
            names.push(text());
            names.len() as u32 - 1
        })
    }
}

/// One class of DevTools' Summary: a name, and for objects with a known
/// constructor, where that constructor is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassInfo {
    pub name: String,
    pub location: Option<Location>,
}

/// Every node's class by DevTools' rules.
#[derive(Clone, Debug)]
pub struct Classes {
    class_of: Vec<u32>,
    classes: Vec<ClassInfo>,
}

impl Classes {
    /// Classifies every node of `graph` as DevTools' Summary does. Objects
    /// are filed under their constructor's name and location, so two classes
    /// called `Item` from different files are two classes.
    pub fn devtools(graph: &HeapGraph) -> Self {
        let renamed = detached_natives(graph);
        let interfaces = Interfaces::infer(graph);
        let n = graph.node_count();

        let mut names = NameTable::default();
        let mut by_string = vec![NONE; graph.strings().len()];
        let mut by_kind = [NONE; 256];
        let mut by_interface = vec![NONE; interfaces.names.len()];

        let mut classes: Vec<ClassInfo> = Vec::new();
        let mut unlocated: Vec<u32> = Vec::new();
        let mut located: HashMap<(u32, u32), u32> = HashMap::default();
        let mut last_located = (NONE, NONE, NONE);
        let mut locations = graph.located_nodes().peekable();
        let table = graph.location_table();
        let (mut ranks, mut states) = (Vec::new(), Vec::new());
        let mut plain = PlainObjects::new(graph);

        let mut class_of = Vec::with_capacity(n);
        for node in 0..n as u32 {
            let kind = graph.node_kind(node);
            let raw = graph.node_name_index(node);
            let name_id = match kind {
                NodeKind::Object | NodeKind::Native
                    if renamed.as_ref().is_some_and(|r| r.get(node)) =>
                {
                    let full = format!("Detached {}", graph.node_name(node));
                    match element_class(&full) {
                        Some(short) => names.id(NameKey::Added(short.clone()), || short),
                        None => names.id(NameKey::Detached(raw), || full),
                    }
                }
                // As DevTools: only nodes from the root on are matched.
                NodeKind::Object
                    if !interfaces.is_empty()
                        && node >= graph.root()
                        && plain.check(graph, node) =>
                {
                    match interfaces.match_object(graph, node, &mut ranks, &mut states) {
                        Some(def) => {
                            let slot = &mut by_interface[def as usize];
                            if *slot == NONE {
                                let text = &interfaces.names[def as usize];
                                *slot = names.id(NameKey::Interface(def), || text.clone());
                            }
                            *slot
                        }
                        None => raw_name_id(graph, raw, &mut by_string, &mut names),
                    }
                }
                NodeKind::Object | NodeKind::Native => {
                    raw_name_id(graph, raw, &mut by_string, &mut names)
                }
                _ => {
                    let slot = &mut by_kind[kind as u8 as usize];
                    if *slot == NONE {
                        let label = devtools_label(kind);
                        *slot = names.id(NameKey::Added(label.to_owned()), || label.to_owned());
                    }
                    *slot
                }
            };
            // Locations come sorted by node; take this node's, if any.
            let mut location = None;
            while let Some(&(at, index)) = locations.peek() {
                if at > node {
                    break;
                }
                if at == node {
                    location = Some(index);
                }
                locations.next();
            }
            let class = match location {
                Some(loc) if kind == NodeKind::Object => {
                    if last_located.0 == loc && last_located.1 == name_id {
                        last_located.2
                    } else {
                        let class = *located.entry((loc, name_id)).or_insert_with(|| {
                            classes.push(ClassInfo {
                                name: names.names[name_id as usize].clone(),
                                location: table.get(loc as usize).copied(),
                            });
                            classes.len() as u32 - 1
                        });
                        last_located = (loc, name_id, class);
                        class
                    }
                }
                _ => {
                    if unlocated.len() <= name_id as usize {
                        unlocated.resize(name_id as usize + 1, NONE);
                    }
                    let slot = &mut unlocated[name_id as usize];
                    if *slot == NONE {
                        classes.push(ClassInfo {
                            name: names.names[name_id as usize].clone(),
                            location: None,
                        });
                        *slot = classes.len() as u32 - 1;
                    }
                    *slot
                }
            };
            class_of.push(class);
        }
        Self { class_of, classes }
    }

    /// The class of `node` (an index into [`info`](Self::info)).
    pub fn class_of(&self, node: u32) -> u32 {
        self.class_of[node as usize]
    }

    /// The class name of `node`.
    pub fn name_of(&self, node: u32) -> &str {
        &self.classes[self.class_of(node) as usize].name
    }

    pub fn info(&self, class: u32) -> &ClassInfo {
        &self.classes[class as usize]
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.classes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    pub(crate) fn into_parts(self) -> (Vec<u32>, Vec<ClassInfo>) {
        (self.class_of, self.classes)
    }
}

/// The name of an object or native node from its own name string (cached
/// per string): an element name's short form, else the string itself.
fn raw_name_id(graph: &HeapGraph, raw: u32, by_string: &mut [u32], names: &mut NameTable) -> u32 {
    if let Some(&id) = by_string.get(raw as usize).filter(|&&id| id != NONE) {
        return id;
    }
    let text = graph.strings().get(raw).unwrap_or("");
    let id = match element_class(text) {
        Some(short) => names.id(NameKey::Added(short.clone()), || short),
        None => names.id(NameKey::Raw(raw), || text.to_owned()),
    };
    if let Some(slot) = by_string.get_mut(raw as usize) {
        *slot = id;
    }
    id
}

/// One row of DevTools' Summary view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassGroup {
    pub name: String,
    /// For objects, where their constructor is (same-named classes from
    /// different places are different rows, as in DevTools).
    pub location: Option<Location>,
    /// Nodes of this class (with a non-zero self size).
    pub count: u64,
    /// Sum of their self sizes (after DevTools' owned-size attribution).
    pub self_size: u64,
    /// Sum of the retained sizes of those of its nodes that no other node of
    /// the class dominates (so nested instances are not counted twice).
    pub retained_size: u64,
}

/// Per-class totals, DevTools style (see [`class_groups_with`]).
pub fn class_groups(graph: &HeapGraph) -> Vec<ClassGroup> {
    class_groups_with(graph, &dominators(graph))
}

/// Per-class totals over `graph` with its already computed dominators.
///
/// As in DevTools: classes by [`Classes::devtools`]; nodes whose self size
/// (as `dom` counts it: [`Dominators::self_size`]) is zero are left out; a
/// class's retained size sums the retained sizes of its nodes that are not
/// dominated by another node of the same class. Sorted by retained size,
/// then self size (both descending), then name.
pub fn class_groups_with(graph: &HeapGraph, dom: &Dominators) -> Vec<ClassGroup> {
    let own;
    let dom = if dom.fits(graph) {
        dom
    } else {
        own = dominators(graph);
        &own
    };
    let (mut group_of, infos) = Classes::devtools(graph).into_parts();
    let mut groups: Vec<ClassGroup> = infos
        .into_iter()
        .map(|info| ClassGroup {
            name: info.name,
            location: info.location,
            count: 0,
            self_size: 0,
            retained_size: 0,
        })
        .collect();
    for (node, g) in group_of.iter_mut().enumerate() {
        let size = dom.self_size(graph, node as u32);
        if size == 0 {
            *g = NONE;
        } else if let Some(group) = groups.get_mut(*g as usize) {
            group.count += 1;
            group.self_size = group.self_size.saturating_add(size);
        }
    }
    let retained = top_level_retained(dom, &group_of, groups.len());
    for (group, size) in groups.iter_mut().zip(retained) {
        group.retained_size = size;
    }
    groups.retain(|g| g.count > 0);
    groups.sort_by(|a, b| {
        b.retained_size
            .cmp(&a.retained_size)
            .then(b.self_size.cmp(&a.self_size))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.location.cmp(&b.location))
    });
    groups
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::testutil::{graph, Spec};
    use crate::heap::EdgeKind as E;
    use crate::heap::NodeKind as K;

    #[test]
    fn names_follow_devtools_and_memwatch() {
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Object, "Foo", 1),
                Spec::node(K::Closure, "bar", 1),
                Spec::node(K::Code, "x", 1),
                Spec::node(K::ConsString, "ab", 1),
                Spec::node(K::Hidden, "system / Context", 1),
                Spec::node(K::Array, "", 1),
                Spec::node(K::Native, "Node / div", 1),
                Spec::node(K::Number, "heap number", 1),
                Spec::node(K::ObjectShape, "system / Map", 1),
            ],
            &[],
        );
        let classes = Classes::devtools(&g);
        let devtools: Vec<&str> = (0..10).map(|n| classes.name_of(n)).collect();
        assert_eq!(
            devtools,
            [
                "(synthetic)",
                "Foo",
                "Function",
                "(compiled code)",
                "(concatenated string)",
                "(system)",
                "(array)",
                "Node / div",
                "(number)",
                "(object shape)"
            ]
        );
        let memwatch: Vec<Option<&str>> = (0..10).map(|n| memwatch_class(&g, n)).collect();
        assert_eq!(
            memwatch,
            [
                None,
                Some("Foo"),
                Some("Closure"),
                Some("Code"),
                Some("String"),
                None,
                Some("Array"),
                Some("Native"),
                Some("Number"),
                None
            ]
        );
    }

    #[test]
    fn groups_count_nested_instances_once() {
        // root -> list(Node 10) -> Node 20 -> Node 30 -> arr(array 5)
        // root -> str (string 7) ; root -> other(Node 1) -> arr
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Object, "Node", 10),
                Spec::node(K::Object, "Node", 20),
                Spec::node(K::Object, "Node", 30),
                Spec::node(K::Array, "", 5),
                Spec::node(K::String, "hello", 7),
                Spec::node(K::Object, "Node", 1),
            ],
            &[
                (0, E::Element, "1", 1),
                (0, E::Element, "2", 5),
                (0, E::Element, "3", 6),
                (1, E::Property, "next", 2),
                (2, E::Property, "next", 3),
                (3, E::Property, "items", 4),
                (6, E::Property, "items", 4),
            ],
        );
        let groups = class_groups(&g);
        let find = |name: &str| groups.iter().find(|c| c.name == name).cloned();
        assert_eq!(
            find("Node"),
            Some(ClassGroup {
                name: "Node".into(),
                location: None,
                count: 4,
                self_size: 61,
                retained_size: 60 + 1,
            })
        );
        assert_eq!(
            find("(array)").map(|c| (c.count, c.retained_size)),
            Some((1, 5))
        );
        assert_eq!(find("(string)").map(|c| c.self_size), Some(7));
        // The zero-size synthetic root is not a class row.
        assert!(find("(synthetic)").is_none());
        assert_eq!(groups[0].name, "Node");
        // Dominators of another graph are not trusted: recomputed, same rows.
        let other = graph(&[Spec::node(K::Synthetic, "", 0)], &[]);
        assert_eq!(class_groups_with(&g, &dominators(&other)), groups);
    }

    #[test]
    fn same_named_constructors_from_two_places_are_two_classes() {
        use crate::heap::{GraphBuilder, Location};
        let mut b = GraphBuilder::new();
        let (empty, item, f) = (b.intern(""), b.intern("Item"), b.intern("handler"));
        let idx = b.intern("1");
        b.add_node(K::Synthetic, empty, 1, 0, 6);
        for (id, name, size) in [
            (3, item, 10),
            (5, item, 10),
            (7, item, 20),
            (9, item, 40),
            (11, f, 1),
            (13, f, 1),
        ] {
            let kind = if name == f { K::Closure } else { K::Object };
            b.add_node(kind, name, id, size, 0);
        }
        for to in 1..=6 {
            b.add_edge(E::Element, idx, to);
        }
        let here = Location {
            script_id: 1,
            line: 2,
            column: 3,
        };
        let there = Location {
            script_id: 4,
            line: 0,
            column: 9,
        };
        b.add_location(1, here);
        b.add_location(2, here);
        b.add_location(3, there);
        // Functions have locations too, but are one class (DevTools).
        b.add_location(5, here);
        b.add_location(6, there);
        let g = b.finish().expect("graph");
        let mut rows: Vec<(String, Option<Location>, u64, u64)> = class_groups(&g)
            .into_iter()
            .map(|c| (c.name, c.location, c.count, c.self_size))
            .collect();
        rows.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        assert_eq!(
            rows,
            [
                ("Function".to_string(), None, 2, 2),
                ("Item".to_string(), None, 1, 40),
                ("Item".to_string(), Some(here), 2, 20),
                ("Item".to_string(), Some(there), 1, 20),
            ]
        );
    }

    #[test]
    fn element_and_detached_names() {
        let mut b = crate::heap::GraphBuilder::new();
        let names = [
            "",
            "<div id=\"a\">",
            "<div>",
            "Detached <span class=\"x\">",
            "<p class=\"q\">",
            "Node / Text",
            "<p class=\"q\">",
        ];
        let ids: Vec<u32> = names.iter().map(|n| b.intern(n)).collect();
        let child = b.intern("child");
        // node 4 is detached (2) and reaches node 5 through a property edge;
        // node 6 (same name as 4) is attached.
        for (i, &name) in ids.iter().enumerate() {
            let kind = if i == 0 { K::Synthetic } else { K::Native };
            b.add_node(kind, name, 2 * i as u32 + 1, 8, u32::from(i == 4));
        }
        b.add_edge(E::Property, child, 5);
        b.set_detachedness(4, 2);
        b.set_detachedness(6, 1);
        let g = b.finish().expect("graph");
        let classes = Classes::devtools(&g);
        let got: Vec<&str> = (1..7).map(|n| classes.name_of(n)).collect();
        assert_eq!(
            got,
            [
                "<div>",
                "<div>",
                "Detached <span>",
                "Detached <p>",
                "Detached Node / Text",
                "<p>"
            ]
        );
        assert_eq!(classes.class_of(1), classes.class_of(2));
    }

    #[test]
    fn zero_size_nodes_are_in_no_row() {
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Native, "Node / Empty", 0),
                Spec::node(K::RegExp, "a+b", 24),
                Spec::node(K::SlicedString, "abc", 20),
                Spec::node(K::String, "abc", 16),
            ],
            &[
                (0, E::Element, "1", 1),
                (0, E::Element, "2", 2),
                (0, E::Element, "3", 3),
                (3, E::Internal, "parent", 4),
            ],
        );
        let names: Vec<String> = class_groups(&g).into_iter().map(|c| c.name).collect();
        // (The sliced string retains its parent: 36 bytes.)
        assert_eq!(names, ["(sliced string)", "RegExp", "(string)"]);
    }
}
