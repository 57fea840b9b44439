//! How DevTools writes names: a node's display name (`JSHeapSnapshotNode.name`)
//! and the pieces its class names are made of.
//!
//! DevTools measures and orders names as JavaScript strings, in UTF-16 code
//! units; so do these functions, so that a name cut at 100 or 120 units and a
//! sorted property list come out the same for non-ASCII names.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt::Write as _;

use super::graph::HeapGraph;
use super::kinds::{EdgeKind, NodeKind};

/// Length in UTF-16 code units (JavaScript's `length`).
pub(crate) fn len16(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.encode_utf16().count()
    }
}

/// JavaScript's string order (by UTF-16 code units).
pub(crate) fn cmp16(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.cmp(b)
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

/// `JSON.stringify(s)`: the string as a JSON literal, quotes included.
pub(crate) fn json_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_json_quoted(&mut out, s);
    out
}

/// Appends `JSON.stringify(s)` to `out`.
pub(crate) fn push_json_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// DevTools' `formatPropertyName`: a property name as it appears in `{a, b}`,
/// quoted when it holds a comma, a quote or a brace.
pub(crate) fn format_property_name(name: &str) -> Cow<'_, str> {
    if name.contains([',', '\'', '"', '{', '}']) {
        Cow::Owned(json_quote(name))
    } else {
        Cow::Borrowed(name)
    }
}

/// Whether `node` is a plain JavaScript object (`Object` constructor), whose
/// class DevTools names by its properties.
pub(crate) fn is_plain_object(graph: &HeapGraph, node: u32) -> bool {
    graph.node_kind(node) == NodeKind::Object && graph.node_name(node) == "Object"
}

/// [`is_plain_object`] for many nodes: the name is compared once per string.
pub(crate) struct PlainObjects {
    /// Per string: 0 not looked at, 1 not "Object", 2 "Object".
    is_object: Vec<u8>,
}

impl PlainObjects {
    pub(crate) fn new(graph: &HeapGraph) -> Self {
        Self {
            is_object: vec![0; graph.strings().len()],
        }
    }

    #[inline]
    pub(crate) fn check(&mut self, graph: &HeapGraph, node: u32) -> bool {
        if graph.node_kind(node) != NodeKind::Object {
            return false;
        }
        let name = graph.node_name_index(node);
        match self.is_object.get_mut(name as usize) {
            Some(0) | None => {
                let yes = graph.node_name(node) == "Object";
                if let Some(slot) = self.is_object.get_mut(name as usize) {
                    *slot = if yes { 2 } else { 1 };
                }
                yes
            }
            Some(state) => *state == 2,
        }
    }
}

/// The name DevTools shows for a node: a concatenated string's text, a plain
/// object's properties (`{a, b, …, z}`), else the node's own name.
pub fn display_name(graph: &HeapGraph, node: u32) -> Cow<'_, str> {
    match graph.node_kind(node) {
        NodeKind::ConsString => Cow::Owned(cons_string_name(graph, node)),
        _ if is_plain_object(graph, node) => Cow::Owned(plain_object_name(graph, node)),
        _ => Cow::Borrowed(graph.node_name(node)),
    }
}

/// DevTools' `consStringName`: the text of a concatenated string, from its
/// `first` and `second` parts, stopping once 1024 units are collected.
fn cons_string_name(graph: &HeapGraph, node: u32) -> String {
    let mut name = String::new();
    let mut units = 0;
    let mut stack = vec![node];
    while let Some(v) = stack.pop() {
        if units >= 1024 {
            break;
        }
        if graph.node_kind(v) != NodeKind::ConsString {
            let part = graph.node_name(v);
            units += len16(part);
            name.push_str(part);
            continue;
        }
        // As DevTools: a missing part reads as node 0.
        let (mut first, mut second) = (0, 0);
        for e in graph.edges(v) {
            if first != 0 && second != 0 {
                break;
            }
            if graph.edge_kind(e) == EdgeKind::Internal {
                match graph.edge_name(e) {
                    Some("first") => first = graph.edge_to(e),
                    Some("second") => second = graph.edge_to(e),
                    _ => {}
                }
            }
        }
        stack.push(second);
        stack.push(first);
    }
    name
}

/// DevTools' `#plainObjectName`: property names taken alternately from the
/// first and the last property edges while the name stays within 100 units.
fn plain_object_name(graph: &HeapGraph, node: u32) -> String {
    let range = graph.edges(node);
    let (mut from_start, mut from_end) = (i64::from(range.start), i64::from(range.end) - 1);
    let mut start = String::from("{");
    let mut end = String::from("}");
    let (mut start_len, mut end_len) = (1usize, 1usize);
    let mut next_from_end = false;
    while from_start <= from_end {
        let e = if next_from_end { from_end } else { from_start } as u32;
        let name = graph.edge_name(e).unwrap_or("");
        if graph.edge_kind(e) != EdgeKind::Property || name == "__proto__" {
            if next_from_end {
                from_end -= 1;
            } else {
                from_start += 1;
            }
            continue;
        }
        let formatted = format_property_name(name);
        let flen = len16(&formatted);
        if start_len > 1 && start_len + end_len + flen > 100 {
            break;
        }
        if next_from_end {
            from_end -= 1;
            if end_len > 1 {
                end.insert_str(0, ", ");
                end_len += 2;
            }
            end.insert_str(0, &formatted);
            end_len += flen;
        } else {
            from_start += 1;
            if start_len > 1 {
                start.push_str(", ");
                start_len += 2;
            }
            start.push_str(&formatted);
            start_len += flen;
        }
        next_from_end = !next_from_end;
    }
    if from_start <= from_end {
        start.push_str(", …");
    }
    if end_len > 1 {
        start.push_str(", ");
    }
    start + &end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::testutil::{graph, Spec};
    use crate::heap::{EdgeKind as E, NodeKind as K};

    #[test]
    fn quoting_and_lengths_follow_javascript() {
        assert_eq!(format_property_name("plain"), "plain");
        assert_eq!(format_property_name("a,b"), "\"a,b\"");
        assert_eq!(format_property_name("q\"{\n\u{1}"), "\"q\\\"{\\n\\u0001\"");
        assert_eq!(len16("😀é"), 3);
        // U+FFFF sorts after U+10000 in UTF-16 (a surrogate pair starts 0xD8xx).
        assert_eq!(cmp16("\u{FFFF}", "\u{10000}"), Ordering::Greater);
        assert_eq!(cmp16("a", "b"), Ordering::Less);
    }

    #[test]
    fn display_names() {
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Object, "Object", 16),
                Spec::node(K::ConsString, "", 16),
                Spec::node(K::String, "hello ", 8),
                Spec::node(K::String, "world", 8),
                Spec::node(K::Object, "Object", 16),
            ],
            &[
                (1, E::Property, "a", 3),
                (1, E::Property, "__proto__", 4),
                (1, E::Internal, "map", 4),
                (1, E::Property, "b,c", 4),
                (1, E::Property, "d", 4),
                (2, E::Internal, "first", 3),
                (2, E::Internal, "second", 4),
            ],
        );
        assert_eq!(display_name(&g, 1), "{a, \"b,c\", d}");
        assert_eq!(display_name(&g, 2), "hello world");
        assert_eq!(display_name(&g, 5), "{}");
        assert_eq!(display_name(&g, 3), "hello ");
    }

    #[test]
    fn long_plain_object_names_are_cut() {
        let names: Vec<String> = (0..40).map(|i| format!("property{i:02}")).collect();
        let mut nodes = vec![
            Spec::node(K::Synthetic, "", 0),
            Spec::node(K::Object, "Object", 16),
        ];
        nodes.push(Spec::node(K::Number, "n", 8));
        let leaked: Vec<&'static str> = names
            .iter()
            .map(|s| &*Box::leak(s.clone().into_boxed_str()))
            .collect();
        let edges: Vec<(u32, E, &str, u32)> =
            leaked.iter().map(|n| (1, E::Property, *n, 2)).collect();
        let g = graph(&nodes, &edges);
        let name = display_name(&g, 1);
        // First and last names alternate: 00, 39, 01, 38, ...
        assert!(name.starts_with("{property00, property01, "), "{name}");
        assert!(name.ends_with(", property38, property39}"), "{name}");
        assert!(name.contains(", …, "), "{name}");
        assert!(len16(&name) <= 100 + 5, "{name}");
    }
}
