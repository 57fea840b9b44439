//! Naming nodes by class, and DevTools' "Summary" view: per-class counts,
//! self sizes and retained sizes.
//!
//! Two namings: [`class_name`] follows DevTools (`HeapSnapshotNode.className`),
//! [`memwatch_class`] follows memwatch's original `HeapDiff` (`what`).

use std::collections::HashMap;

use super::dominators::{dominators, Dominators};
use super::graph::{HeapGraph, NONE};
use super::kinds::NodeKind;
use super::toplevel::top_level_retained;

/// Where a node's class name comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClassSource {
    /// The node's own name (a constructor name for objects).
    Name,
    /// A fixed label per node type.
    Fixed(&'static str),
    /// The node is not classified (engine internals).
    Skip,
}

/// DevTools' rules: hidden -> `(system)`, object/native -> node name,
/// closure -> `Function`, code -> `(compiled code)`, any string -> `(string)`,
/// anything else -> `(<type>)`.
pub(crate) fn devtools_source(kind: NodeKind) -> ClassSource {
    ClassSource::Fixed(match kind {
        NodeKind::Object | NodeKind::Native => return ClassSource::Name,
        NodeKind::Hidden => "(system)",
        NodeKind::Closure => "Function",
        NodeKind::Code => "(compiled code)",
        NodeKind::String | NodeKind::ConsString | NodeKind::SlicedString => "(string)",
        NodeKind::Array => "(array)",
        NodeKind::RegExp => "(regexp)",
        NodeKind::Number => "(number)",
        NodeKind::Synthetic => "(synthetic)",
        NodeKind::Symbol => "(symbol)",
        NodeKind::BigInt => "(bigint)",
        NodeKind::ObjectShape => "(object shape)",
        NodeKind::WasmObject => "(wasm object)",
        NodeKind::Unknown => "(unknown)",
    })
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

/// The class DevTools' Summary view files `node` under.
pub fn class_name(graph: &HeapGraph, node: u32) -> &str {
    name_by(devtools_source(graph.node_kind(node)), graph, node).unwrap_or("")
}

/// The `what` memwatch's heap diff reports for `node`: the constructor name
/// for objects; `Array`, `String`, `Code`, `Closure`, `RegExp`, `Number`,
/// `Native`, `Symbol`, `BigInt` for the rest; `None` for hidden, synthetic
/// and object-shape nodes, which are not counted.
pub fn memwatch_class(graph: &HeapGraph, node: u32) -> Option<&str> {
    name_by(memwatch_source(graph.node_kind(node)), graph, node)
}

/// Class names numbered densely; may span several graphs (for diffs).
#[derive(Debug, Default)]
pub(crate) struct ClassIndex {
    ids: HashMap<String, u32>,
    pub(crate) names: Vec<String>,
}

impl ClassIndex {
    fn id(&mut self, name: &str) -> u32 {
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

/// Classifies the nodes of one graph into a [`ClassIndex`], hashing each
/// distinct name string once (cached by string index) rather than per node.
pub(crate) struct Classifier<'g> {
    graph: &'g HeapGraph,
    source: fn(NodeKind) -> ClassSource,
    by_string: Vec<u32>,
    by_kind: [u32; 256],
}

impl<'g> Classifier<'g> {
    pub(crate) fn new(graph: &'g HeapGraph, source: fn(NodeKind) -> ClassSource) -> Self {
        Self {
            graph,
            source,
            by_string: vec![NONE; graph.strings().len()],
            by_kind: [NONE; 256],
        }
    }

    /// The class id of `node`, or `None` when the naming skips it.
    pub(crate) fn class_of(&mut self, index: &mut ClassIndex, node: u32) -> Option<u32> {
        let kind = self.graph.node_kind(node);
        let slot = match (self.source)(kind) {
            ClassSource::Skip => return None,
            ClassSource::Name => {
                let s = self.graph.node_name_index(node) as usize;
                self.by_string.get_mut(s)?
            }
            ClassSource::Fixed(_) => &mut self.by_kind[kind as u8 as usize],
        };
        if *slot == NONE {
            let name = name_by((self.source)(kind), self.graph, node).unwrap_or("");
            *slot = index.id(name);
        }
        Some(*slot)
    }
}

/// Whether DevTools' Summary counts a node at all: it leaves out nodes of
/// size zero (the synthetic roots, mostly) unless they are native.
pub(crate) fn counted_in_summary(graph: &HeapGraph, node: u32) -> bool {
    graph.self_size(node) > 0 || graph.node_kind(node) == NodeKind::Native
}

/// One row of DevTools' Summary view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassGroup {
    pub name: String,
    /// Nodes of this class.
    pub count: u64,
    /// Sum of their self sizes.
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
/// As in DevTools: classes by [`class_name`]; nodes with zero self size are
/// left out unless native; a class's retained size sums the retained sizes of
/// its nodes that are not dominated by another node of the same class
/// (unreachable nodes count with their self size). Sorted by retained size,
/// then self size (both descending), then name.
pub fn class_groups_with(graph: &HeapGraph, dom: &Dominators) -> Vec<ClassGroup> {
    let own;
    let dom = if dom.fits(graph) {
        dom
    } else {
        own = dominators(graph);
        &own
    };
    let mut index = ClassIndex::default();
    let mut classifier = Classifier::new(graph, devtools_source);
    let n = graph.node_count() as u32;
    let mut group_of = vec![NONE; n as usize];
    for node in 0..n {
        if counted_in_summary(graph, node) {
            if let Some(id) = classifier.class_of(&mut index, node) {
                group_of[node as usize] = id;
            }
        }
    }
    let mut groups: Vec<ClassGroup> = index
        .names
        .iter()
        .map(|name| ClassGroup {
            name: name.clone(),
            count: 0,
            self_size: 0,
            retained_size: 0,
        })
        .collect();
    for (node, &g) in group_of.iter().enumerate() {
        if let Some(group) = groups.get_mut(g as usize) {
            group.count += 1;
            group.self_size = group.self_size.saturating_add(graph.self_sizes()[node]);
        }
    }
    let retained = top_level_retained(dom, &group_of, index.len());
    for (group, size) in groups.iter_mut().zip(retained) {
        group.retained_size = size;
    }
    groups.sort_by(|a, b| {
        b.retained_size
            .cmp(&a.retained_size)
            .then(b.self_size.cmp(&a.self_size))
            .then_with(|| a.name.cmp(&b.name))
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
        let devtools: Vec<&str> = (0..10).map(|n| class_name(&g, n)).collect();
        assert_eq!(
            devtools,
            [
                "(synthetic)",
                "Foo",
                "Function",
                "(compiled code)",
                "(string)",
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
}
