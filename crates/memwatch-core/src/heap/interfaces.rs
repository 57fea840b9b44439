//! DevTools' class names for plain objects: `{a, b}` "interfaces"
//! (`inferInterfaceDefinitions` and `applyInterfaceDefinitions`).
//!
//! Inference: every plain object (constructor `Object`) proposes the name made
//! of its property names in edge order (`__proto__` left out, cut once past
//! 120 UTF-16 units); the proposals made by at least 2 objects and at least
//! one in 1000 of the plain objects become definitions, most popular first.
//! Application: an object takes the definition with the most properties
//! among those whose properties it all has (the earlier one on a tie), or
//! stays `Object`.
//!
//! Both passes walk the nodes from the root to the end, as DevTools' do (its
//! node iterator starts at the root): with a `root_index` past node 0, the
//! plain objects before the root keep the name `Object` there too.

use rustc_hash::FxHashMap as HashMap;

use super::graph::HeapGraph;
use super::kinds::EdgeKind;
use super::names::{cmp16, format_property_name, len16, PlainObjects};

const MAX_INTERFACE_NAME_LENGTH: usize = 120;
const MIN_OBJECT_COUNT_PER_INTERFACE: f64 = 2.0;
const MIN_OBJECT_PROPORTION_PER_INTERFACE: f64 = 1000.0;

/// The definitions of one graph, ready to match objects against.
pub(crate) struct Interfaces {
    /// Definition names, most popular first (their index breaks ties).
    pub(crate) names: Vec<String>,
    /// Property-name string index -> rank in JavaScript's sort order (equal
    /// texts share a rank); only names used by some definition.
    rank_of_name: HashMap<u32, u32>,
    /// The definitions as a trie over sorted property ranks: node 0 is the
    /// empty object.
    children: HashMap<(u32, u32), u32>,
    /// Per trie node: the largest rank leaving it, and the definition ending
    /// there (the first one, if several have the same properties).
    greatest_next: Vec<Option<u32>>,
    matches: Vec<Option<(usize, u32)>>,
}

struct Candidate {
    properties: Vec<u32>,
    count: u64,
}

impl Interfaces {
    /// Infers the definitions of `graph` (none when it has no plain objects).
    pub(crate) fn infer(graph: &HeapGraph) -> Self {
        let mut candidates: HashMap<String, usize> = HashMap::default();
        let mut list: Vec<(String, Candidate)> = Vec::new();
        let mut plain_objects = 0u64;
        let mut plain = PlainObjects::new(graph);
        for node in graph.root()..graph.node_count() as u32 {
            if !plain.check(graph, node) {
                continue;
            }
            plain_objects += 1;
            let mut name = String::from("{");
            let mut name_len = 1;
            let mut properties = Vec::new();
            for e in graph.edges(node) {
                if graph.edge_kind(e) != EdgeKind::Property {
                    continue;
                }
                let edge_name = graph.edge_name(e).unwrap_or("");
                if edge_name == "__proto__" {
                    continue;
                }
                let formatted = format_property_name(edge_name);
                let flen = len16(&formatted);
                if name_len > 1 && name_len + flen > MAX_INTERFACE_NAME_LENGTH {
                    break;
                }
                if name_len != 1 {
                    name.push_str(", ");
                    name_len += 2;
                }
                name.push_str(&formatted);
                name_len += flen;
                properties.push(graph.edge_name_or_index(e));
            }
            if properties.is_empty() {
                continue;
            }
            name.push('}');
            match candidates.get(&name) {
                Some(&i) => list[i].1.count += 1,
                None => {
                    candidates.insert(name.clone(), list.len());
                    list.push((
                        name,
                        Candidate {
                            properties,
                            count: 1,
                        },
                    ));
                }
            }
        }
        drop(candidates);
        // Stable: equally popular names keep the order they were first seen.
        list.sort_by_key(|c| std::cmp::Reverse(c.1.count));
        let min_count = MIN_OBJECT_COUNT_PER_INTERFACE
            .max(plain_objects as f64 / MIN_OBJECT_PROPORTION_PER_INTERFACE);
        let chosen: Vec<(String, Candidate)> = list
            .into_iter()
            .take_while(|(_, c)| c.count as f64 >= min_count)
            .collect();
        Self::build(graph, chosen)
    }

    fn build(graph: &HeapGraph, definitions: Vec<(String, Candidate)>) -> Self {
        // Rank every property name the definitions use, by JavaScript order.
        let mut texts: Vec<(&str, u32)> = Vec::new();
        let mut seen = HashMap::default();
        for (_, c) in &definitions {
            for &p in &c.properties {
                if seen.insert(p, ()).is_none() {
                    texts.push((graph.strings().get(p).unwrap_or(""), p));
                }
            }
        }
        texts.sort_by(|a, b| cmp16(a.0, b.0));
        let mut rank_of_name = HashMap::with_capacity_and_hasher(texts.len(), Default::default());
        let mut rank = 0u32;
        for (i, &(text, p)) in texts.iter().enumerate() {
            if i > 0 && texts[i - 1].0 != text {
                rank += 1;
            }
            rank_of_name.insert(p, rank);
        }
        let mut out = Self {
            names: Vec::with_capacity(definitions.len()),
            rank_of_name,
            children: HashMap::default(),
            greatest_next: vec![None],
            matches: vec![None],
        };
        for (index, (name, c)) in definitions.into_iter().enumerate() {
            let mut ranks: Vec<u32> = c.properties.iter().map(|p| out.rank_of_name[p]).collect();
            ranks.sort_unstable();
            let mut at = 0u32;
            for &r in &ranks {
                at = match out.children.get(&(at, r)) {
                    Some(&child) => child,
                    None => {
                        let child = out.greatest_next.len() as u32;
                        out.greatest_next.push(None);
                        out.matches.push(None);
                        out.children.insert((at, r), child);
                        let g = &mut out.greatest_next[at as usize];
                        *g = Some(g.map_or(r, |g| g.max(r)));
                        child
                    }
                };
            }
            let slot = &mut out.matches[at as usize];
            if slot.is_none() {
                *slot = Some((ranks.len(), index as u32));
            }
            out.names.push(name);
        }
        out
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The definition a plain object takes, if any. `ranks` is scratch space.
    pub(crate) fn match_object(
        &self,
        graph: &HeapGraph,
        node: u32,
        ranks: &mut Vec<u32>,
        states: &mut Vec<u32>,
    ) -> Option<u32> {
        ranks.clear();
        for e in graph.edges(node) {
            if graph.edge_kind(e) == EdgeKind::Property {
                // Names no definition uses cannot complete a match.
                if let Some(&r) = self.rank_of_name.get(&graph.edge_name_or_index(e)) {
                    ranks.push(r);
                }
            }
        }
        ranks.sort_unstable();
        // DevTools' walk: every trie node reachable by a sub-multiset of the
        // properties seen so far, dropped once nothing can leave it.
        let mut best: Option<(usize, u32)> = self.matches[0];
        states.clear();
        states.push(0);
        for &p in ranks.iter() {
            let count = states.len();
            let mut i = 0;
            let mut kept = 0;
            while i < count {
                let s = states[i];
                i += 1;
                let next = self.children.get(&(s, p)).copied();
                if self.greatest_next[s as usize].is_some_and(|g| p < g) {
                    states[kept] = s;
                    kept += 1;
                }
                if let Some(child) = next {
                    if !states[count..].contains(&child) && !states[..kept].contains(&child) {
                        states.push(child);
                    }
                    if let Some(m) = self.matches[child as usize] {
                        best = better(best, m);
                    }
                }
            }
            // Compact: the kept old states, then the new ones.
            let added = states.len() - count;
            states.copy_within(count..count + added, kept);
            states.truncate(kept + added);
        }
        best.map(|(_, index)| index)
    }
}

/// More properties wins; then the earlier definition.
fn better(current: Option<(usize, u32)>, candidate: (usize, u32)) -> Option<(usize, u32)> {
    match current {
        None => Some(candidate),
        Some(c) if candidate.0 > c.0 || (candidate.0 == c.0 && candidate.1 < c.1) => {
            Some(candidate)
        }
        keep => keep,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::testutil::{graph, Spec};
    use crate::heap::{EdgeKind as E, NodeKind as K};

    /// Plain objects with the given property lists, plus one string target.
    fn objects(props: &[&[&'static str]]) -> HeapGraph {
        let mut nodes = vec![
            Spec::node(K::Synthetic, "", 0),
            Spec::node(K::String, "v", 8),
        ];
        let mut edges = Vec::new();
        for (i, list) in props.iter().enumerate() {
            nodes.push(Spec::node(K::Object, "Object", 16));
            for &p in list.iter() {
                edges.push((i as u32 + 2, E::Property, p, 1));
            }
        }
        graph(&nodes, &edges)
    }

    fn names(g: &HeapGraph) -> Vec<Option<String>> {
        let ifs = Interfaces::infer(g);
        let (mut r, mut s) = (Vec::new(), Vec::new());
        (2..g.node_count() as u32)
            .map(|n| {
                ifs.match_object(g, n, &mut r, &mut s)
                    .map(|i| ifs.names[i as usize].clone())
            })
            .collect()
    }

    #[test]
    fn popular_shapes_name_their_objects() {
        let g = objects(&[
            &["a", "b"],
            &["b", "a"],
            &["a", "b"],
            &["a", "b", "c"],
            &["x"],
            &["a", "__proto__", "b"],
            &[],
            &["c", "a", "b"],
        ]);
        let got = names(&g);
        let ab = Some("{a, b}".to_string());
        assert_eq!(
            got,
            [
                ab.clone(),
                ab.clone(),
                ab.clone(),
                // {a, b, c} was proposed once only; {c, a, b} once too.
                ab.clone(),
                None,
                ab.clone(),
                None,
                ab
            ]
        );
    }

    #[test]
    fn the_largest_matching_definition_wins() {
        let g = objects(&[
            &["a", "b"],
            &["a", "b"],
            &["a", "b"],
            &["a", "b", "c"],
            &["a", "b", "c"],
            &["c", "b", "a", "d"],
            &["b", "c"],
            &["b", "c"],
        ]);
        let got = names(&g);
        assert_eq!(got[5].as_deref(), Some("{a, b, c}"));
        assert_eq!(got[6].as_deref(), Some("{b, c}"));
    }
}
