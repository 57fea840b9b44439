//! WeakMap entries (ephemerons) as V8 writes them, and how DevTools reads them.
//!
//! V8 gives a WeakMap's value two internal edges with the same name, one from
//! the backing table and one from the key:
//! `"<i> / part of key (<name> @<id>) -> value (<name> @<id>) pair in WeakMap (table @<id>)"`.
//! The value lives as long as both do, so DevTools keeps only the key's edge
//! for dominators (a WeakMap-held leak is then retained by its key), and for
//! distances takes the later of the two edges. Names are matched as DevTools'
//! regular expression does:
//! `^\d+( / part of key \(.*? @\d+\) -> value \(.*? @\d+\) pair in WeakMap \(table @(\d+)\))$`.

use super::graph::HeapGraph;

/// What an ephemeron edge name says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ephemeron<'s> {
    /// Everything after the leading index: the same for the table's and the
    /// key's edge of one entry.
    pub(crate) pair: &'s str,
    /// The object id of the WeakMap's table (u64: a crafted name may exceed
    /// any node id, and then matches none).
    pub(crate) table_id: u64,
}

const KEY: &str = " / part of key (";
const VALUE: &str = ") -> value (";
const TABLE: &str = ") pair in WeakMap (table @";

/// `.` in a JavaScript regular expression matches anything but these.
fn has_line_terminator(s: &str) -> bool {
    s.contains(['\n', '\r', '\u{2028}', '\u{2029}'])
}

/// `s` ends with ` @` and at least one digit.
fn ends_with_at_id(s: &str) -> bool {
    let digits = s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    digits > 0 && s[..s.len() - digits].ends_with(" @")
}

/// Parses an edge name as DevTools' `tryParseWeakMapEdgeName` does.
pub(crate) fn parse_ephemeron(name: &str) -> Option<Ephemeron<'_>> {
    let index_len = name.len() - name.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if index_len == 0 {
        return None;
    }
    let pair = &name[index_len..];
    let rest = pair.strip_prefix(KEY)?.strip_suffix(')')?;
    // `table @<digits>` at the very end: the digits are the table id.
    let id_len = rest.len() - rest.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if id_len == 0 {
        return None;
    }
    let (rest, id) = rest.split_at(rest.len() - id_len);
    let middle = rest.strip_suffix(TABLE)?;
    // middle = <key name> @<id>) -> value (<value name> @<id>, names free of
    // line terminators; some `) -> value (` must split it that way.
    if has_line_terminator(middle) || !ends_with_at_id(middle) {
        return None;
    }
    let split = middle
        .match_indices(VALUE)
        .any(|(at, _)| ends_with_at_id(&middle[..at]));
    if !split {
        return None;
    }
    let table_id = id.bytes().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some(Ephemeron { pair, table_id })
}

/// Ephemeron names of one graph, parsed once per string index.
pub(crate) struct EphemeronNames<'g> {
    graph: &'g HeapGraph,
    /// Per string: 0 not looked at, 1 not an ephemeron name, 2 one.
    state: Vec<u8>,
}

impl<'g> EphemeronNames<'g> {
    pub(crate) fn new(graph: &'g HeapGraph) -> Self {
        Self {
            graph,
            state: vec![0; graph.strings().len()],
        }
    }

    /// The ephemeron `edge` stands for, if its name is one (internal edges
    /// only, as in DevTools).
    pub(crate) fn of_edge(&mut self, edge: u32) -> Option<Ephemeron<'g>> {
        if self.graph.edge_kind(edge) != super::EdgeKind::Internal {
            return None;
        }
        let name = self.graph.edge_name_or_index(edge);
        let slot = self.state.get_mut(name as usize)?;
        if *slot == 1 {
            return None;
        }
        let parsed = parse_ephemeron(self.graph.strings().get(name)?);
        *slot = if parsed.is_some() { 2 } else { 1 };
        parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_devtools_pattern() {
        let name =
            "3 / part of key (Object @123) -> value (Leak @456) pair in WeakMap (table @789)";
        let e = parse_ephemeron(name).expect("ephemeron");
        assert_eq!(e.table_id, 789);
        assert_eq!(e.pair, &name[1..]);
        // Names with spaces, parentheses, even the separators themselves.
        let odd = "12 / part of key (a ) -> value (b @1 @5) -> value (x) y @6) pair in WeakMap (table @7)";
        assert_eq!(parse_ephemeron(odd).map(|e| e.table_id), Some(7));
        for bad in [
            "",
            "part of key (a @1) -> value (b @2) pair in WeakMap (table @3)",
            "1 / part of key (a @1) -> value (b @2) pair in WeakMap (table @)",
            "1 / part of key (a @1) -> value (b @2) pair in WeakMap (table @3) ",
            "1 / part of key (a @) -> value (b @2) pair in WeakMap (table @3)",
            "1 / part of key (a @1) -> value (b @x) pair in WeakMap (table @3)",
            "1 / part of key (a\n @1) -> value (b @2) pair in WeakMap (table @3)",
            "1 / part of key (a @1) => value (b @2) pair in WeakMap (table @3)",
            "x1 / part of key (a @1) -> value (b @2) pair in WeakMap (table @3)",
        ] {
            assert_eq!(parse_ephemeron(bad), None, "{bad:?}");
        }
        let huge = "1 / part of key (a @1) -> value (b @2) pair in WeakMap (table @99999999999999999999999)";
        assert_eq!(parse_ephemeron(huge).map(|e| e.table_id), Some(u64::MAX));
    }
}
