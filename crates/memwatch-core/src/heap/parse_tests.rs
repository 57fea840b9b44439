//! Parser tests on small hand-written `.heapsnapshot` texts.

use super::{
    parse_heap_snapshot, parse_heap_snapshot_with_progress, EdgeKind, HeapGraph, NodeKind,
};

const NODE_TYPES: &str = r#"["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape"]"#;
const EDGE_TYPES: &str =
    r#"["context","element","property","internal","hidden","shortcut","weak"]"#;
const FIELDS_7: &str =
    r#"["type","name","id","self_size","edge_count","trace_node_id","detachedness"]"#;
const FIELDS_6: &str = r#"["type","name","id","self_size","edge_count","trace_node_id"]"#;
const STRINGS: &str = r#"["","(GC roots)","Foo\"bar","\u00e9\ud83d\ude00","global","x\ny","w"]"#;

fn snapshot(node_fields: &str, nodes: &str, edges: &str, strings: &str) -> String {
    format!(
        r#"{{"snapshot":{{"meta":{{"node_fields":{node_fields},"node_types":[{NODE_TYPES},"string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[{EDGE_TYPES},"string_or_number","node"],"trace_function_info_fields":["function_id","name","script_name","script_id","line","column"],"trace_node_fields":["id","function_info_index","count","size","children"],"sample_fields":["timestamp_us","last_assigned_id"],"location_fields":["object_index","script_id","line","column"]}},"node_count":4,"edge_count":5,"trace_function_count":0}},
"nodes":{nodes},
"edges":{edges},
"trace_function_infos":[],
"trace_tree":[1,0,0,0,[2,0,1,16,[]]],
"samples":[1.5e3,-2],
"locations":[],
"strings":{strings}}}
"#
    )
}

/// Root -> (GC roots) [element 1], root -> Foo"bar [shortcut "global"],
/// (GC roots) -> Foo"bar [element 0], Foo"bar -> string [property "x\ny"],
/// Foo"bar -> string [weak "w"]. Foo"bar has id 2^25+1 and size 2^32.
const NODES_7: &str =
    "[9,0,1,0,2,0,0\n,9,1,3,0,1,0,0\n,3,2,33554433,4294967296,2,0,2\n,2,3,5,16,0,0,0]";
const EDGES_7: &str = "[1,1,7\n,5,4,14\n,1,0,14\n,2,5,21\n,6,6,21]";
const NODES_6: &str = "[9,0,1,0,2,0\n,9,1,3,0,1,0\n,3,2,33554433,4294967296,2,0\n,2,3,5,16,0,0]";
const EDGES_6: &str = "[1,1,6\n,5,4,12\n,1,0,12\n,2,5,18\n,6,6,18]";

fn valid7() -> String {
    snapshot(FIELDS_7, NODES_7, EDGES_7, STRINGS)
}

fn check_sample(g: &HeapGraph) {
    assert_eq!(g.node_count(), 4);
    assert_eq!(g.edge_count(), 5);
    assert_eq!(g.strings().len(), 7);
    assert_eq!(g.node_kind(0), NodeKind::Synthetic);
    assert_eq!(g.node_name(1), "(GC roots)");
    assert_eq!(g.node_kind(2), NodeKind::Object);
    assert_eq!(g.node_name(2), "Foo\"bar");
    assert_eq!(g.node_id(2), 33_554_433);
    assert_eq!(g.self_size(2), 1 << 32);
    assert_eq!(g.node_kind(3), NodeKind::String);
    assert_eq!(g.node_name(3), "é😀");
    assert_eq!(g.edges(0), 0..2);
    assert_eq!(g.edges(2), 3..5);
    assert_eq!(g.edges(3), 5..5);
    assert_eq!(g.edge_kind(0), EdgeKind::Element);
    assert_eq!(g.edge_name(0), None);
    assert_eq!(g.edge_name_or_index(0), 1);
    assert_eq!(g.edge_to(0), 1);
    assert_eq!(g.edge_kind(1), EdgeKind::Shortcut);
    assert_eq!(g.edge_name(1), Some("global"));
    assert_eq!(g.edge_to(1), 2);
    assert_eq!(g.edge_name(3), Some("x\ny"));
    assert_eq!(g.edge_to(3), 3);
    assert_eq!(g.edge_kind(4), EdgeKind::Weak);
}

#[test]
fn parses_seven_field_layout() {
    let g = parse_heap_snapshot(valid7().as_bytes()).expect("valid snapshot");
    check_sample(&g);
    assert_eq!(g.detachedness(2), Some(2));
    assert_eq!(g.detachedness(0), Some(0));
}

#[test]
fn parses_six_field_layout() {
    let text = snapshot(FIELDS_6, NODES_6, EDGES_6, STRINGS);
    let g = parse_heap_snapshot(text.as_bytes()).expect("valid snapshot");
    check_sample(&g);
    assert_eq!(g.detachedness(2), None);
}

#[test]
fn resolves_fields_and_types_by_name() {
    // Fields in another order, type lists in another order, meta keys in
    // another order, extra unknown keys everywhere.
    let text = r#"{"future":{"x":[1,{"y":null}]},"snapshot":{"extra":true,"meta":{
        "edge_types":["node",["weak","property","element"],"string_or_number"],
        "edge_fields":["to_node","type","name_or_index"],
        "node_types":["number",["object","synthetic","string","brand new type"],"string","number","number"],
        "node_fields":["edge_count","type","name","id","self_size"]}},
      "nodes":[2,1,0,1,0, 0,0,1,3,24, 0,3,2,5,7],
      "edges":[5,2,0, 10,1,2],
      "strings":["","Foo","p"]}"#;
    let g = parse_heap_snapshot(text.as_bytes()).expect("valid snapshot");
    assert_eq!(g.node_kind(0), NodeKind::Synthetic);
    assert_eq!(g.node_kind(1), NodeKind::Object);
    assert_eq!(g.node_kind(2), NodeKind::Unknown);
    assert_eq!(g.self_size(1), 24);
    assert_eq!(g.node_id(2), 5);
    assert_eq!(g.edge_kind(0), EdgeKind::Element);
    assert_eq!(g.edge_to(0), 1);
    assert_eq!(g.edge_kind(1), EdgeKind::Property);
    assert_eq!(g.edge_name(1), Some("p"));
    assert_eq!(g.edge_to(1), 2);
}

/// A reader that hands out `n` bytes per call.
struct Chunks<'a>(&'a [u8], usize);

impl std::io::Read for Chunks<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn any_chunking_and_progress() {
    let text = valid7();
    for step in [1, 2, 3, 7, 64] {
        let mut last = 0;
        let mut progress = |n: u64| last = n;
        let g = parse_heap_snapshot_with_progress(Chunks(text.as_bytes(), step), &mut progress)
            .expect("valid snapshot");
        check_sample(&g);
        assert_eq!(last, text.len() as u64);
    }
}

#[test]
fn lying_header_counts_are_harmless() {
    let text = valid7()
        .replace("\"node_count\":4", "\"node_count\":1000000000000")
        .replace("\"edge_count\":5", "\"edge_count\":1000000000000");
    let g = parse_heap_snapshot(text.as_bytes()).expect("counts are hints");
    check_sample(&g);
}

/// Parses `text`, expects an error whose message contains `needle`, and
/// checks it names a byte offset inside the input; returns the offset.
fn fails(text: &str, needle: &str) -> u64 {
    let err = match parse_heap_snapshot(text.as_bytes()) {
        Ok(_) => panic!("expected an error containing {needle:?}"),
        Err(e) => e,
    };
    let line = err.to_string();
    assert!(line.contains(needle), "{line:?} lacks {needle:?}");
    assert!(line.contains(" at byte "), "{line:?}");
    assert!(!line.contains('\n'), "{line:?} is not one line");
    assert!(err.offset <= text.len() as u64, "{line:?}");
    err.offset
}

#[test]
fn bad_input_is_an_error_with_an_offset() {
    fails("", "empty input");
    fails("   hello", "not a heap snapshot");
    fails("[1,2]", "not a heap snapshot");
    fails("{", "end of input");
    fails("{}", "no \"snapshot\"");
    fails(
        &valid7().replace("\"strings\":[", "\"other\":["),
        "no \"strings\"",
    );
    fails(&format!("{} x", valid7()), "trailing data");
    fails(
        &valid7().replace("\"meta\":", "\"mota\":"),
        "has no \"meta\"",
    );
    fails(
        &valid7().replace("\"edge_types\":", "\"edge_typos\":"),
        "has no \"edge_types\"",
    );
    fails(
        &snapshot(
            r#"["type","name","self_size","edge_count"]"#,
            NODES_6,
            EDGES_6,
            STRINGS,
        ),
        "lacks \"id\"",
    );
    let nodes_after_meta = valid7().replace(r#"{"snapshot":"#, r#"{"nodes":[],"snapshot":"#);
    fails(&nodes_after_meta, "comes before snapshot.meta");
    fails(
        &valid7().replace(r#""strings":["#, r#""strings":[],"strings":["#),
        "duplicate \"strings\"",
    );
    fails(
        &snapshot(FIELDS_7, "[]", "[]", STRINGS),
        "\"nodes\" is empty",
    );

    // Array shapes and counts.
    let text = snapshot(
        FIELDS_7,
        &NODES_7.replace("5,16,0,0,0]", "5,16,0,0]"),
        EDGES_7,
        STRINGS,
    );
    fails(&text, "not a multiple of the 7 node fields");
    let text = snapshot(
        FIELDS_7,
        NODES_7,
        &EDGES_7.replace(",6,6,21]", ",6,6]"),
        STRINGS,
    );
    fails(&text, "not a multiple of the 3 edge fields");
    let text = snapshot(
        FIELDS_7,
        NODES_7,
        &EDGES_7.replace("\n,6,6,21]", "]"),
        STRINGS,
    );
    fails(&text, "add up to 5, more than the 4 edges");
    let text = snapshot(
        FIELDS_7,
        NODES_7,
        &EDGES_7.replace("]", ",6,6,21]"),
        STRINGS,
    );
    fails(&text, "add up to 5, fewer than the 6 edges");

    // Indices out of range: the offset is that of the bad number.
    let text = snapshot(
        FIELDS_7,
        &NODES_7.replace(",2,3,5,", ",2,99,5,"),
        EDGES_7,
        STRINGS,
    );
    let at = fails(
        &text,
        "node name string index 99 is out of range (7 strings)",
    );
    assert_eq!(&text[at as usize..at as usize + 2], "99");
    let text = snapshot(
        FIELDS_7,
        NODES_7,
        &EDGES_7.replace(",2,5,21", ",2,77,21"),
        STRINGS,
    );
    let at = fails(&text, "edge name string index 77");
    assert_eq!(&text[at as usize..at as usize + 2], "77");
    let text = snapshot(
        FIELDS_7,
        NODES_7,
        &EDGES_7.replace(",1,0,14", ",1,0,70"),
        STRINGS,
    );
    let at = fails(&text, "points to node 10, but there are only 4 nodes");
    assert_eq!(&text[at as usize..at as usize + 2], "70");
    let text = snapshot(
        FIELDS_7,
        NODES_7,
        &EDGES_7.replace(",1,0,14", ",1,0,15"),
        STRINGS,
    );
    fails(&text, "to_node 15, not a multiple of the 7 node fields");
    let text = snapshot(
        FIELDS_7,
        &NODES_7.replace("[9,0,1,", "[15,0,1,"),
        EDGES_7,
        STRINGS,
    );
    let at = fails(
        &text,
        "type index 15, but snapshot.meta.node_types lists 15 types",
    );
    assert_eq!(&text[at as usize..at as usize + 2], "15");
    let text = snapshot(
        FIELDS_7,
        NODES_7,
        &EDGES_7.replace("[1,1,7", "[7,1,7"),
        STRINGS,
    );
    fails(&text, "edge_types lists 7 types");
    let text = snapshot(
        FIELDS_7,
        &NODES_7.replace(",5,16,", ",4294967296,16,"),
        EDGES_7,
        STRINGS,
    );
    fails(&text, "node id 4294967296 does not fit in 32 bits");
    let text = snapshot(
        FIELDS_7,
        &NODES_7.replace("16,0,0,0]", "16,0,0,300]"),
        EDGES_7,
        STRINGS,
    );
    fails(&text, "detachedness 300");

    // Absurd numbers.
    let text = snapshot(
        FIELDS_7,
        &NODES_7.replace(",5,16,", ",5,-16,"),
        EDGES_7,
        STRINGS,
    );
    let at = fails(&text, "negative number in nodes");
    assert_eq!(&text[at as usize..at as usize + 3], "-16");
    let text = snapshot(
        FIELDS_7,
        &NODES_7.replace(",5,16,", ",5,16.5,"),
        EDGES_7,
        STRINGS,
    );
    fails(&text, "non-integer number in nodes");
    let text = snapshot(
        FIELDS_7,
        &NODES_7.replace(",5,16,", ",5,1e9,"),
        EDGES_7,
        STRINGS,
    );
    fails(&text, "non-integer number in nodes");
    let text = snapshot(
        FIELDS_7,
        &NODES_7.replace(",5,16,", ",5,99999999999999999999,"),
        EDGES_7,
        STRINGS,
    );
    fails(&text, "too large for 64 bits");
    let text = snapshot(
        FIELDS_7,
        &NODES_7.replace(",5,16,", ",5,null,"),
        EDGES_7,
        STRINGS,
    );
    fails(&text, "expected a number but found 'n'");
    fails(
        &valid7().replace("\"node_count\":4", "\"node_count\":-4"),
        "negative number in snapshot.node_count",
    );

    // Strings.
    fails(
        &snapshot(FIELDS_7, NODES_7, EDGES_7, r#"["","a","b","c",5,"e","f"]"#),
        "expected '\"'",
    );
    fails(
        &snapshot(
            FIELDS_7,
            NODES_7,
            EDGES_7,
            r#"["","a","b","\q","d","e","f"]"#,
        ),
        "invalid escape",
    );
    let mut bytes = valid7().into_bytes();
    let at = bytes.len() - 21;
    assert_eq!(&bytes[at..at + 6], b"global");
    bytes[at + 2] = 0xff;
    let err = parse_heap_snapshot(&bytes[..]).expect_err("bad UTF-8");
    assert!(err.to_string().contains("invalid UTF-8"), "{err}");

    // Unknown keys are named on one line, escaped.
    let text = valid7().replace(r#""samples":[1.5e3,-2]"#, r#""sam\nples":[1.5e3,-]"#);
    fails(&text, r#"malformed number in "sam\nples""#);

    // Nesting in a skipped value is bounded.
    let deep = format!("{{\"x\":{}", "[".repeat(3_000_000));
    fails(&deep, "nested too deeply");
}

#[test]
fn every_truncation_is_an_error() {
    let text = valid7();
    let trimmed = text.trim_end();
    for len in 0..trimmed.len() {
        if !trimmed.is_char_boundary(len) {
            continue;
        }
        let err = parse_heap_snapshot(&trimmed.as_bytes()[..len]);
        assert!(err.is_err(), "prefix of {len} bytes parsed");
    }
    assert!(parse_heap_snapshot(trimmed.as_bytes()).is_ok());
}

/// Random byte edits of a valid snapshot never panic or hang.
#[test]
fn mutations_never_panic() {
    let text = valid7().into_bytes();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move |m: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % m as u64) as usize
    };
    let alphabet = b"0123456789,[]{}\":-.e \\u";
    for _ in 0..5_000 {
        let mut bytes = text.clone();
        for _ in 0..1 + rand(4) {
            let i = rand(bytes.len());
            match rand(3) {
                0 => bytes[i] = alphabet[rand(alphabet.len())],
                1 => {
                    bytes.remove(i);
                }
                _ => bytes.insert(i, alphabet[rand(alphabet.len())]),
            }
        }
        if let Ok(g) = parse_heap_snapshot(&bytes[..]) {
            // Whatever parsed is a valid graph the analyses can run on.
            let d = super::dominators(&g);
            let _ = super::class_groups_with(&g, &d);
        }
    }
}

#[test]
fn root_index_names_the_root() {
    // Node 0 and node 1 swapped: the root is the second node (offset 7).
    let nodes = "[9,1,3,0,1,0,0\n,9,0,1,0,2,0,0\n,3,2,33554433,4294967296,2,0,2\n,2,3,5,16,0,0,0]";
    let edges = "[1,0,14\n,1,1,0\n,5,4,14\n,2,5,21\n,6,6,21]";
    let text = snapshot(FIELDS_7, nodes, edges, STRINGS)
        .replace("\"node_count\":4", "\"node_count\":4,\"root_index\":7");
    let g = parse_heap_snapshot(text.as_bytes()).expect("valid snapshot");
    assert_eq!(g.root(), 1);
    assert_eq!(g.node_name(0), "(GC roots)");
    let d = super::dominators(&g);
    assert_eq!(d.immediate_dominator(2), Some(1));
    assert_eq!(d.retained_size(1), (1 << 32) + 16);

    let misaligned = valid7().replace("\"node_count\":4", "\"node_count\":4,\"root_index\":3");
    let at = fails(
        &misaligned,
        "snapshot.root_index 3 is not the offset of a node",
    );
    assert_eq!(&misaligned[at as usize..at as usize + 1], "3");
    let past = valid7().replace("\"node_count\":4", "\"node_count\":4,\"root_index\":28");
    fails(&past, "snapshot.root_index 28 is not the offset of a node (a multiple of the 7 node fields below 28)");
}

#[test]
fn locations_are_read_by_their_field_names() {
    // location_fields in another order; node 2 listed twice (the last wins,
    // as in DevTools' map); node 3 once.
    let text = valid7()
        .replace(
            "\"location_fields\":[\"object_index\",\"script_id\",\"line\",\"column\"]",
            "\"location_fields\":[\"line\",\"column\",\"object_index\",\"script_id\"]",
        )
        .replace(
            "\"locations\":[]",
            "\"locations\":[1,2,14,9, 21,22,21,23, 5,6,14,7]",
        );
    let g = parse_heap_snapshot(text.as_bytes()).expect("valid snapshot");
    let at = |script_id, line, column| {
        Some(super::Location {
            script_id,
            line,
            column,
        })
    };
    assert_eq!(g.location(2), at(7, 5, 6));
    assert_eq!(g.location(3), at(23, 21, 22));
    assert_eq!(g.location(1), None);

    let misaligned = valid7().replace("\"locations\":[]", "\"locations\":[15,1,2,3]");
    let at = fails(
        &misaligned,
        "location object_index 15, not a multiple of the 7 node fields",
    );
    assert_eq!(&misaligned[at as usize..at as usize + 2], "15");
    fails(
        &valid7().replace("\"locations\":[]", "\"locations\":[70,1,2,3]"),
        "a location names node 10, but there are only 4 nodes",
    );
    fails(
        &valid7().replace("\"locations\":[]", "\"locations\":[7,1,2]"),
        "not a multiple of the 4 location fields",
    );
    // Without location_fields DevTools ignores "locations"; so does the parser.
    let unlisted = valid7()
        .replace(
            ",\"location_fields\":[\"object_index\",\"script_id\",\"line\",\"column\"]",
            "",
        )
        .replace("\"locations\":[]", "\"locations\":[\"anything\"]");
    let g = parse_heap_snapshot(unlisted.as_bytes()).expect("valid snapshot");
    assert_eq!(g.location(2), None);
}

#[test]
fn optional_sections_may_be_missing() {
    // No trace_function_infos, trace_tree, samples or locations.
    let text = valid7()
        .replace("\"trace_function_infos\":[],\n", "")
        .replace("\"trace_tree\":[1,0,0,0,[2,0,1,16,[]]],\n", "")
        .replace("\"samples\":[1.5e3,-2],\n", "")
        .replace("\"locations\":[],\n", "");
    assert!(!text.contains("trace_tree\":["), "{text}");
    check_sample(&parse_heap_snapshot(text.as_bytes()).expect("valid snapshot"));
}

#[test]
fn counts_past_the_engine_limits_are_refused_by_name() {
    use super::lexer::Lexer;
    use super::parse::{parse_with_limits, Limits};
    let text = valid7();
    let parse = |nodes, edges| {
        parse_with_limits(Lexer::new(text.as_bytes(), None), Limits { nodes, edges })
    };
    assert!(parse(4, 5).is_ok());
    let err = parse(3, 5).expect_err("4 nodes over a limit of 3");
    assert!(
        err.to_string()
            .contains("more than 3 nodes, the engine's limit (32-bit node indices)"),
        "{err}"
    );
    let err = parse(4, 4).expect_err("5 edges over a limit of 4");
    assert!(
        err.to_string().contains(
            "edge counts add up to more than 4 edges, the engine's limit (32-bit edge indices)"
        ),
        "{err}"
    );
    // The real limits, as the README states them.
    assert_eq!(super::MAX_NODES, 4_294_967_294);
    assert_eq!(super::MAX_EDGES, 4_294_967_293);
}
