//! Timing and peak memory on a real snapshot; ignored by default.
//!
//! `MEMWATCH_HEAPSNAPSHOT=/path/x.heapsnapshot cargo test --release -p memwatch-core
//! bench_real_snapshot -- --ignored --nocapture`

use std::time::Instant;

use super::{class_groups_with, dominators_with_rules, parse_heap_snapshot, RetainRules};

fn peak_rss_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

#[test]
#[ignore = "needs MEMWATCH_HEAPSNAPSHOT pointing at a .heapsnapshot"]
fn bench_real_snapshot() {
    let Ok(path) = std::env::var("MEMWATCH_HEAPSNAPSHOT") else {
        eprintln!("MEMWATCH_HEAPSNAPSHOT not set; skipping");
        return;
    };
    let file = std::fs::File::open(&path).expect("open snapshot");
    let t = Instant::now();
    let g = parse_heap_snapshot(file).expect("parse");
    let parse = t.elapsed();
    eprintln!(
        "after parse: peak {:?} MB, graph {} MB",
        peak_rss_mb(),
        g.memory_bytes() >> 20
    );
    let rules = match std::env::var("MEMWATCH_RULES").as_deref() {
        Ok("devtools") => RetainRules::DevTools,
        _ => RetainRules::Basic,
    };
    let t = Instant::now();
    let d = dominators_with_rules(&g, rules);
    let dom = t.elapsed();
    eprintln!("after dominators: peak {:?} MB", peak_rss_mb());
    let t = Instant::now();
    let groups = class_groups_with(&g, &d);
    let group = t.elapsed();
    eprintln!("after groups: peak {:?} MB", peak_rss_mb());
    let t = Instant::now();
    let paths = super::RootPaths::compute(&g);
    let bfs = t.elapsed();
    let deepest = groups.first().map(|c| c.name.clone()).unwrap_or_default();
    drop(paths);
    eprintln!(
        "{} nodes, {} edges, {} strings, graph {} MB",
        g.node_count(),
        g.edge_count(),
        g.strings().len(),
        g.memory_bytes() >> 20
    );
    eprintln!(
        "parse {parse:?}, dominators+retained {dom:?}, class groups {group:?}, root paths {bfs:?} (top class {deepest})"
    );
    eprintln!(
        "root retained {} bytes; peak RSS {:?} MB",
        d.retained_size(0),
        peak_rss_mb()
    );
    eprintln!("rules {rules:?}");
    for c in groups.iter().take(12) {
        eprintln!(
            "  {:>10} {:>12} {:>12}  {}",
            c.count, c.self_size, c.retained_size, c.name
        );
    }
}

/// `MEMWATCH_LEAK_SNAPSHOTS=base,target,final cargo test -p memwatch-core
/// leaks_real_snapshots -- --ignored --nocapture`
#[test]
#[ignore = "needs MEMWATCH_LEAK_SNAPSHOTS=baseline,target,final paths"]
fn leaks_real_snapshots() {
    let Ok(paths) = std::env::var("MEMWATCH_LEAK_SNAPSHOTS") else {
        eprintln!("MEMWATCH_LEAK_SNAPSHOTS not set; skipping");
        return;
    };
    let graphs: Vec<_> = paths
        .split(',')
        .map(|p| parse_heap_snapshot(std::fs::File::open(p).expect("open")).expect("parse"))
        .collect();
    let [base, target, last] = &graphs[..] else {
        panic!("need three paths");
    };
    let t = Instant::now();
    let dom = dominators_with_rules(last, RetainRules::DevTools);
    let leaks = super::leak_candidates_with(base, target, last, &dom);
    eprintln!("leak candidates in {:?}", t.elapsed());
    for g in leaks.iter().take(6) {
        let path = g.path.as_ref().map(|p| super::format_path(last, p));
        eprintln!(
            "{:>6} {:>9} {:>9} {}\n       {}",
            g.count,
            g.self_size,
            g.retained_size,
            g.name,
            path.unwrap_or_default()
        );
    }
    let d = super::diff(base, last);
    eprintln!("diff: before {:?} after {:?}", d.before, d.after);
    for c in d.details.iter().filter(|c| c.added + c.deleted > 50) {
        eprintln!("  {:?} net {}", c, c.size_bytes());
    }
}
