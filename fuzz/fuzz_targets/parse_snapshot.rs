//! Any bytes: the parser returns a graph or an error, never panics or hangs,
//! and whatever it accepts the analyses can run on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memwatch_core::heap::{
    class_groups_with, diff_with, dominators_with_rules, leak_candidates_with, parse_heap_snapshot,
    RetainRules,
};

fuzz_target!(|data: &[u8]| {
    let Ok(graph) = parse_heap_snapshot(data) else {
        return;
    };
    for rules in [RetainRules::Basic, RetainRules::DevTools] {
        let dom = dominators_with_rules(&graph, rules);
        let _ = class_groups_with(&graph, &dom);
        let _ = diff_with(&graph, &graph, &dom);
        for group in leak_candidates_with(&graph, &graph, &graph, &dom) {
            if let Some(path) = group.path {
                let _ = memwatch_core::heap::format_path(&graph, &path);
            }
        }
    }
});
