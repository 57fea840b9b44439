//! What the addon assumes about each V8 version it may run on, in one table
//! (`V8_PROFILES`): the layouts of structs whose accessors are inline in the
//! headers (so fields are read by offset) and which symbol variants exist.
//!
//! Mangled symbol names carry no layouts: every row is checked in the test
//! suite against the headers of a Node with that V8 (a C++ probe,
//! `scripts/v8-probe.cc`), and at start-up against `v8.getHeapStatistics()`.
//! A V8 older than every row gets no layout (the fallback); one newer than
//! every row gets the newest row, trusted only after stricter start-up checks.

/// Bytes handed to `HeapStatistics::HeapStatistics()`: several times the real
/// size, so a V8 that grew the struct cannot write past our buffer.
pub const HEAP_STATISTICS_BUFFER: usize = 1024;

/// Byte offsets of `v8::HeapStatistics` fields (all `size_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapStatisticsLayout {
    pub size: usize,
    pub total_heap_size: usize,
    pub total_heap_size_executable: usize,
    pub total_physical_size: usize,
    pub total_available_size: usize,
    pub used_heap_size: usize,
    pub heap_size_limit: usize,
    pub malloced_memory: usize,
    pub external_memory: usize,
    pub peak_malloced_memory: usize,
    pub number_of_native_contexts: usize,
    pub number_of_detached_contexts: usize,
}

/// V8 10.0 (Node 18) through 14.5 (Node 25): the same 14 fields, with the
/// `bool does_zap_garbage_` at 72 padded to 8.
const HEAP_STATISTICS_V10_TO_V14_5: HeapStatisticsLayout = HeapStatisticsLayout {
    size: 112,
    total_heap_size: 0,
    total_heap_size_executable: 8,
    total_physical_size: 16,
    total_available_size: 24,
    used_heap_size: 32,
    heap_size_limit: 40,
    malloced_memory: 48,
    external_memory: 56,
    peak_malloced_memory: 64,
    number_of_native_contexts: 80,
    number_of_detached_contexts: 88,
};

/// V8 14.6 (Node 26) appended `uint64_t total_allocated_bytes_`; nothing moved.
const HEAP_STATISTICS_V14_6: HeapStatisticsLayout = HeapStatisticsLayout {
    size: 120,
    ..HEAP_STATISTICS_V10_TO_V14_5
};

/// `v8::AllocationProfile` (v8-profiler.h), what `HeapProfiler::
/// GetAllocationProfile()` returns: an abstract class (a vtable) whose tree
/// is inline structs, read by offset. Checked against each version's headers
/// by `scripts/v8-probe.cc` (offsets with `offsetof`, the vector
/// representation by constructing one, the Itanium vtable slots by calling
/// each slot of a derived class), and at run time by the sampling canary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocationProfileLayout {
    pub vtable: ProfileVtable,
    pub node: ProfileNodeLayout,
    /// `std::vector<T>`: three pointers (begin, end, end of storage) in
    /// libstdc++, libc++ and MSVC's release STL alike.
    pub vector: VectorLayout,
    pub allocation: AllocationLayout,
    pub sample: SampleLayout,
}

/// Virtual function slots (pointer-sized entries from the vtable's address
/// point). In declaration order — `GetRootNode()`, `GetSamples()`, then the
/// virtual destructor — which on Itanium is two entries (the complete-object
/// destructor D1, then the deleting destructor D0) and on MSVC one (the
/// scalar deleting destructor, taking a flags argument: 1 = delete).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProfileVtable {
    pub get_root_node: usize,
    pub get_samples: usize,
    /// Itanium's deleting destructor (`void(this)`).
    pub itanium_deleting_dtor: usize,
    /// MSVC's scalar deleting destructor (`void*(this, unsigned flags)`).
    pub msvc_deleting_dtor: usize,
}

/// Byte offsets of `AllocationProfile::Node` fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProfileNodeLayout {
    pub size: usize,
    /// `Local<String>`: one pointer.
    pub name: usize,
    pub script_name: usize,
    /// `int`s.
    pub script_id: usize,
    pub start_position: usize,
    pub line_number: usize,
    pub column_number: usize,
    /// `uint32_t`.
    pub node_id: usize,
    /// `std::vector<Node*>`.
    pub children: usize,
    /// `std::vector<Allocation>`.
    pub allocations: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VectorLayout {
    pub size: usize,
    pub begin: usize,
    pub end: usize,
}

/// `AllocationProfile::Allocation { size_t size; unsigned int count; }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocationLayout {
    pub size: usize,
    pub size_field: usize,
    pub count: usize,
}

/// `AllocationProfile::Sample { uint32_t node_id; size_t size; unsigned int
/// count; uint64_t sample_id; }`, plus `bool is_live` from V8 14.6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleLayout {
    pub size: usize,
    pub node_id: usize,
    pub size_field: usize,
    pub count: usize,
    pub sample_id: usize,
    pub is_live: Option<usize>,
}

const ALLOCATION_PROFILE_V10_TO_V14_5: AllocationProfileLayout = AllocationProfileLayout {
    vtable: ProfileVtable {
        get_root_node: 0,
        get_samples: 1,
        itanium_deleting_dtor: 3,
        msvc_deleting_dtor: 2,
    },
    node: ProfileNodeLayout {
        size: 88,
        name: 0,
        script_name: 8,
        script_id: 16,
        start_position: 20,
        line_number: 24,
        column_number: 28,
        node_id: 32,
        children: 40,
        allocations: 64,
    },
    vector: VectorLayout {
        size: 24,
        begin: 0,
        end: 8,
    },
    allocation: AllocationLayout {
        size: 16,
        size_field: 0,
        count: 8,
    },
    sample: SampleLayout {
        size: 32,
        node_id: 0,
        size_field: 8,
        count: 16,
        sample_id: 24,
        is_live: None,
    },
};

/// V8 14.6 (Node 26) appended `bool is_live` to `Sample`; nothing moved.
const ALLOCATION_PROFILE_V14_6: AllocationProfileLayout = AllocationProfileLayout {
    sample: SampleLayout {
        size: 40,
        is_live: Some(32),
        ..ALLOCATION_PROFILE_V10_TO_V14_5.sample
    },
    ..ALLOCATION_PROFILE_V10_TO_V14_5
};

/// A V8 version as `V8::GetVersion()` prints it: "14.6.202.34-node.40".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct V8Version {
    pub major: u32,
    pub minor: u32,
}

impl V8Version {
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }

    /// `"11.3.244.8-node.33"` -> 11.3; `None` for anything else.
    pub fn parse(version: &str) -> Option<Self> {
        let mut parts = version.trim().split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.split('-').next()?.parse().ok()?;
        Some(Self { major, minor })
    }
}

impl std::fmt::Display for V8Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Which `HeapProfiler::TakeHeapSnapshot(ActivityControl*, <resolver>*, bool, bool)`
/// overload a V8 exports: the resolver class was renamed in V8 14.6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotOverload {
    ObjectNameResolver,
    ContextNameResolver,
}

/// How a V8 writes a `String` as UTF-8: `WriteUtf8(Isolate*, char*, int,
/// int*, int)` (gone in V8 14.6) or `WriteUtf8V2(Isolate*, char*, size_t, int,
/// size_t*)` (from V8 13.x).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Utf8Writer {
    WriteUtf8,
    WriteUtf8V2,
}

/// Everything the binding assumes about one range of V8 versions: the struct
/// layouts it reads and the symbol variants it calls. One row per range, each
/// checked in the test suite against that version's own headers (a C++ probe
/// compiled against `include/node`) and its exported symbols (`nm -D`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V8Profile {
    /// First and last V8 version (major.minor, inclusive) the row was checked on.
    pub first: V8Version,
    pub last: V8Version,
    /// The Node majors that ship those versions (for messages and docs).
    pub node: &'static str,
    pub heap_statistics: HeapStatisticsLayout,
    pub snapshot: SnapshotOverload,
    pub utf8: Utf8Writer,
    pub allocation_profile: AllocationProfileLayout,
}

/// The table. Rows are in version order and do not overlap.
pub const V8_PROFILES: &[V8Profile] = &[
    V8Profile {
        first: V8Version::new(10, 0),
        last: V8Version::new(13, 9),
        node: "18-24",
        heap_statistics: HEAP_STATISTICS_V10_TO_V14_5,
        snapshot: SnapshotOverload::ObjectNameResolver,
        utf8: Utf8Writer::WriteUtf8,
        allocation_profile: ALLOCATION_PROFILE_V10_TO_V14_5,
    },
    V8Profile {
        first: V8Version::new(14, 0),
        last: V8Version::new(14, 5),
        node: "25",
        heap_statistics: HEAP_STATISTICS_V10_TO_V14_5,
        snapshot: SnapshotOverload::ObjectNameResolver,
        utf8: Utf8Writer::WriteUtf8V2,
        allocation_profile: ALLOCATION_PROFILE_V10_TO_V14_5,
    },
    V8Profile {
        first: V8Version::new(14, 6),
        last: V8Version::new(14, 99),
        node: "26",
        heap_statistics: HEAP_STATISTICS_V14_6,
        snapshot: SnapshotOverload::ContextNameResolver,
        utf8: Utf8Writer::WriteUtf8V2,
        allocation_profile: ALLOCATION_PROFILE_V14_6,
    },
];

/// What the table says about a running V8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileChoice {
    /// A row was checked against this version's headers: use it.
    Verified(&'static V8Profile),
    /// A V8 newer than every row (a Node released after this build): the
    /// newest row is the best guess, and the binding may use it only after
    /// checking, at start-up, everything it relies on against values it can
    /// observe (see `verify_heap_statistics_exact` and the snapshot canary).
    Unverified(&'static V8Profile),
    /// Older than every row, or not a version string: the fallback.
    Unsupported,
}

/// Picks the row for a V8 version string.
pub fn profile_for(version: &str) -> ProfileChoice {
    let Some(v) = V8Version::parse(version) else {
        return ProfileChoice::Unsupported;
    };
    if let Some(row) = V8_PROFILES.iter().find(|p| p.first <= v && v <= p.last) {
        return ProfileChoice::Verified(row);
    }
    match V8_PROFILES.last() {
        Some(newest) if v > newest.last => ProfileChoice::Unverified(newest),
        _ => ProfileChoice::Unsupported,
    }
}

/// The `HeapStatistics` layout of a checked V8 version (for the test that
/// compares the table with each version's headers), or `None`.
pub fn heap_statistics_layout(version: V8Version) -> Option<HeapStatisticsLayout> {
    V8_PROFILES
        .iter()
        .find(|p| p.first <= version && version <= p.last)
        .map(|p| p.heap_statistics)
}

/// The `AllocationProfile` layout of a checked V8 version (for the test that
/// compares the table with each version's headers), or `None`.
pub fn allocation_profile_layout(version: V8Version) -> Option<AllocationProfileLayout> {
    V8_PROFILES
        .iter()
        .find(|p| p.first <= version && version <= p.last)
        .map(|p| p.allocation_profile)
}

/// The `HeapStatistics` fields the layout places, in the order of
/// [`HeapStatisticsLayout::fields`]; the names are those of
/// `v8.getHeapStatistics()`.
pub const HEAP_STATISTICS_FIELDS: [&str; 11] = [
    "total_heap_size",
    "total_heap_size_executable",
    "total_physical_size",
    "total_available_size",
    "used_heap_size",
    "heap_size_limit",
    "malloced_memory",
    "external_memory",
    "peak_malloced_memory",
    "number_of_native_contexts",
    "number_of_detached_contexts",
];

impl HeapStatisticsLayout {
    /// Byte offsets in the order of [`HEAP_STATISTICS_FIELDS`].
    pub fn fields(&self) -> [usize; 11] {
        [
            self.total_heap_size,
            self.total_heap_size_executable,
            self.total_physical_size,
            self.total_available_size,
            self.used_heap_size,
            self.heap_size_limit,
            self.malloced_memory,
            self.external_memory,
            self.peak_malloced_memory,
            self.number_of_native_contexts,
            self.number_of_detached_contexts,
        ]
    }
}

/// What JS's `v8.getHeapStatistics()` said (a field it lacks, such as
/// `external_memory` before Node 20, is `None`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapStatisticsReference {
    pub values: [Option<u64>; 11],
}

impl HeapStatisticsReference {
    /// Sets the field named as in [`HEAP_STATISTICS_FIELDS`]; other names are ignored.
    pub fn set(&mut self, name: &str, value: u64) {
        if let Some(i) = HEAP_STATISTICS_FIELDS.iter().position(|f| *f == name) {
            self.values[i] = Some(value);
        }
    }

    pub fn get(&self, name: &str) -> Option<u64> {
        let i = HEAP_STATISTICS_FIELDS.iter().position(|f| *f == name)?;
        self.values[i]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutError {
    BufferTooSmall {
        need: usize,
        have: usize,
    },
    Mismatch {
        field: &'static str,
        native: u64,
        expected: String,
    },
}

impl std::fmt::Display for LayoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LayoutError::BufferTooSmall { need, have } => {
                write!(f, "HeapStatistics needs {need} bytes, buffer has {have}")
            }
            LayoutError::Mismatch {
                field,
                native,
                expected,
            } => write!(
                f,
                "HeapStatistics.{field} read {native} at its assumed offset, expected {expected}"
            ),
        }
    }
}

impl std::error::Error for LayoutError {}

/// Reads one `size_t` field out of a filled `HeapStatistics` buffer.
pub fn read_field(buf: &[u8], offset: usize) -> u64 {
    buf.get(offset..offset + 8)
        .map(|b| {
            let mut w = [0u8; 8];
            w.copy_from_slice(b);
            u64::from_ne_bytes(w)
        })
        .unwrap_or(0)
}

fn check_size(layout: &HeapStatisticsLayout, buf: &[u8]) -> Result<(), LayoutError> {
    if buf.len() < layout.size {
        return Err(LayoutError::BufferTooSmall {
            need: layout.size,
            have: buf.len(),
        });
    }
    Ok(())
}

/// Checks a verified row's layout against a buffer that V8 filled and the JS
/// reference read just before. Fields that do not move between two reads
/// must match exactly; heap sizes (which a GC between the two reads could
/// change) must be plausible.
pub fn verify_heap_statistics(
    layout: &HeapStatisticsLayout,
    buf: &[u8],
    reference: &HeapStatisticsReference,
) -> Result<(), LayoutError> {
    check_size(layout, buf)?;
    let want = |name: &'static str| reference.get(name).unwrap_or(0);
    let exact = [
        ("heap_size_limit", layout.heap_size_limit),
        (
            "number_of_native_contexts",
            layout.number_of_native_contexts,
        ),
        (
            "number_of_detached_contexts",
            layout.number_of_detached_contexts,
        ),
    ];
    for (field, offset) in exact {
        let native = read_field(buf, offset);
        if native != want(field) {
            return Err(LayoutError::Mismatch {
                field,
                native,
                expected: want(field).to_string(),
            });
        }
    }
    let total = read_field(buf, layout.total_heap_size);
    let used = read_field(buf, layout.used_heap_size);
    let plausible = |native: u64, want: u64| native >= want / 2 && native <= want.saturating_mul(2);
    let want_total = want("total_heap_size");
    if want_total == 0 || !plausible(total, want_total) {
        return Err(LayoutError::Mismatch {
            field: "total_heap_size",
            native: total,
            expected: format!("about {want_total}"),
        });
    }
    if used == 0 || used > total || !plausible(used, want("used_heap_size")) {
        return Err(LayoutError::Mismatch {
            field: "used_heap_size",
            native: used,
            expected: format!(
                "about {} and at most total_heap_size {}",
                want("used_heap_size"),
                total
            ),
        });
    }
    Ok(())
}

/// The check for a V8 no row was verified on: every field JS reports must
/// equal what was read at its assumed offset, using two native reads taken
/// right before and right after the JS read (a field that changed in between
/// must lie between them). A guessed layout that is off by one field fails
/// here, because neighbouring fields hold different values.
pub fn verify_heap_statistics_strict(
    layout: &HeapStatisticsLayout,
    before: &[u8],
    after: &[u8],
    reference: &HeapStatisticsReference,
) -> Result<(), LayoutError> {
    check_size(layout, before)?;
    check_size(layout, after)?;
    let mut compared = 0;
    for ((name, offset), want) in HEAP_STATISTICS_FIELDS
        .iter()
        .zip(layout.fields())
        .zip(reference.values)
    {
        let Some(want) = want else { continue };
        let (a, b) = (read_field(before, offset), read_field(after, offset));
        if want < a.min(b) || want > a.max(b) {
            return Err(LayoutError::Mismatch {
                field: name,
                native: a,
                expected: want.to_string(),
            });
        }
        compared += 1;
    }
    // Too few fields to tell one offset from another: not verified.
    if compared < 8 {
        return Err(LayoutError::Mismatch {
            field: "(reference)",
            native: compared,
            expected: "at least 8 fields from v8.getHeapStatistics()".into(),
        });
    }
    let used = read_field(after, layout.used_heap_size);
    let total = read_field(after, layout.total_heap_size);
    if used == 0 || used > total {
        return Err(LayoutError::Mismatch {
            field: "used_heap_size",
            native: used,
            expected: format!("between 1 and total_heap_size {total}"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(vals: &[(usize, u64)]) -> Vec<u8> {
        let mut buf = vec![0u8; HEAP_STATISTICS_BUFFER];
        for (off, v) in vals {
            buf[*off..*off + 8].copy_from_slice(&v.to_ne_bytes());
        }
        buf
    }

    fn reference() -> HeapStatisticsReference {
        let mut r = HeapStatisticsReference::default();
        for (name, v) in [
            ("heap_size_limit", 4_345_298_944),
            ("total_heap_size", 6_000_000),
            ("used_heap_size", 4_000_000),
            ("number_of_native_contexts", 1),
            ("number_of_detached_contexts", 0),
        ] {
            r.set(name, v);
        }
        r
    }

    fn v(major: u32, minor: u32) -> V8Version {
        V8Version::new(major, minor)
    }

    #[test]
    fn versions_parse_and_map_to_rows() {
        assert_eq!(V8Version::parse("11.3.244.8-node.33"), Some(v(11, 3)));
        assert_eq!(V8Version::parse("14.6.202.34-node.40"), Some(v(14, 6)));
        assert_eq!(V8Version::parse("12.4-node.1"), Some(v(12, 4)));
        assert_eq!(V8Version::parse("garbage"), None);
        assert_eq!(V8Version::parse("13"), None);
        for (version, size) in [
            ("10.2.154", 112),
            ("13.6.233", 112),
            ("14.1.146", 112),
            ("14.6.202", 120),
        ] {
            match profile_for(version) {
                ProfileChoice::Verified(p) => assert_eq!(p.heap_statistics.size, size, "{version}"),
                other => panic!("{version}: {other:?}"),
            }
        }
        let ProfileChoice::Verified(p26) = profile_for("14.6.202.34-node.40") else {
            panic!()
        };
        assert_eq!(p26.snapshot, SnapshotOverload::ContextNameResolver);
        assert_eq!(p26.utf8, Utf8Writer::WriteUtf8V2);
        // A V8 released after this build: the newest row, to be checked at start-up.
        assert_eq!(
            profile_for("15.0.1"),
            ProfileChoice::Unverified(V8_PROFILES.last().unwrap())
        );
        assert_eq!(profile_for("9.4.146"), ProfileChoice::Unsupported);
        assert_eq!(profile_for("x"), ProfileChoice::Unsupported);
        assert_eq!(heap_statistics_layout(v(9, 0)), None);
        assert_eq!(heap_statistics_layout(v(15, 0)), None);
    }

    #[test]
    fn rows_are_ordered_and_do_not_overlap() {
        for pair in V8_PROFILES.windows(2) {
            assert!(pair[0].first <= pair[0].last && pair[0].last < pair[1].first);
        }
        for p in V8_PROFILES {
            let f = p.heap_statistics.fields();
            assert!(f
                .iter()
                .all(|o| o % 8 == 0 && o + 8 <= p.heap_statistics.size));
            assert!(p.heap_statistics.size <= HEAP_STATISTICS_BUFFER);
        }
    }

    #[test]
    fn allocation_profile_rows_are_self_consistent() {
        for p in V8_PROFILES {
            let a = p.allocation_profile;
            let n = a.node;
            // Fields in declaration order, inside the struct, vectors whole.
            let order = [
                n.name,
                n.script_name,
                n.script_id,
                n.start_position,
                n.line_number,
                n.column_number,
                n.node_id,
                n.children,
                n.allocations,
            ];
            assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
            assert!(n.allocations + a.vector.size <= n.size);
            assert!(n.children + a.vector.size <= n.allocations);
            assert!(a.vector.begin + 8 <= a.vector.size && a.vector.end + 8 <= a.vector.size);
            assert!(a.allocation.count + 4 <= a.allocation.size);
            let s = a.sample;
            assert!(s.sample_id + 8 <= s.size && s.is_live.is_none_or(|o| o < s.size));
            let v = a.vtable;
            assert_ne!(v.get_root_node, v.get_samples);
            assert!(
                v.itanium_deleting_dtor > v.get_samples && v.msvc_deleting_dtor > v.get_samples
            );
        }
        let p26 = allocation_profile_layout(v(14, 6)).unwrap();
        assert_eq!(p26.sample.is_live, Some(32));
        assert_eq!(allocation_profile_layout(v(11, 3)).unwrap().sample.size, 32);
        assert_eq!(allocation_profile_layout(v(15, 0)), None);
    }

    #[test]
    fn a_correct_layout_verifies() {
        let l = heap_statistics_layout(v(11, 3)).unwrap();
        let buf = filled(&[
            (l.total_heap_size, 6_100_000),
            (l.used_heap_size, 4_100_000),
            (l.heap_size_limit, 4_345_298_944),
            (l.number_of_native_contexts, 1),
        ]);
        assert_eq!(verify_heap_statistics(&l, &buf, &reference()), Ok(()));
    }

    #[test]
    fn a_shifted_layout_is_refused() {
        let l = heap_statistics_layout(v(11, 3)).unwrap();
        // The struct V8 wrote has one extra word in front of everything.
        let buf = filled(&[
            (l.total_heap_size + 8, 6_100_000),
            (l.used_heap_size + 8, 4_100_000),
            (l.heap_size_limit + 8, 4_345_298_944),
            (l.number_of_native_contexts + 8, 1),
        ]);
        let err = verify_heap_statistics(&l, &buf, &reference()).unwrap_err();
        assert!(matches!(
            err,
            LayoutError::Mismatch {
                field: "heap_size_limit",
                ..
            }
        ));
        assert!(err.to_string().contains("heap_size_limit"));
    }

    #[test]
    fn implausible_heap_sizes_are_refused() {
        let l = heap_statistics_layout(v(12, 4)).unwrap();
        let buf = filled(&[
            (l.total_heap_size, 6_100_000),
            (l.used_heap_size, 9_000_000),
            (l.heap_size_limit, 4_345_298_944),
            (l.number_of_native_contexts, 1),
        ]);
        assert!(verify_heap_statistics(&l, &buf, &reference()).is_err());
        assert!(matches!(
            verify_heap_statistics(&l, &buf[..64], &reference()),
            Err(LayoutError::BufferTooSmall { .. })
        ));
    }

    /// Distinct values for every field, as a real V8 reports them.
    fn full_reference(values: [u64; 11]) -> HeapStatisticsReference {
        HeapStatisticsReference {
            values: values.map(Some),
        }
    }

    const REAL: [u64; 11] = [
        6_012_928,
        262_144,
        5_722_112,
        4_341_012_328,
        4_712_312,
        4_345_298_944,
        262_296,
        1_638_689,
        1_167_360,
        1,
        0,
    ];

    #[test]
    fn the_strict_check_accepts_the_right_layout_and_moving_fields() {
        let l = V8_PROFILES.last().unwrap().heap_statistics;
        let fill =
            |vals: [u64; 11]| filled(&l.fields().iter().copied().zip(vals).collect::<Vec<_>>());
        let before = fill(REAL);
        let mut moved = REAL;
        moved[6] += 4096; // malloced_memory grew between the reads
        let after = fill(moved);
        let mut js = REAL;
        js[6] += 1024;
        assert_eq!(
            verify_heap_statistics_strict(&l, &before, &after, &full_reference(js)),
            Ok(())
        );
    }

    #[test]
    fn the_strict_check_refuses_any_shifted_field() {
        let l = V8_PROFILES.last().unwrap().heap_statistics;
        // A future V8 inserted a field before `used_heap_size`: everything
        // from there on sits one word later than the guessed layout says.
        let shifted: Vec<(usize, u64)> = l
            .fields()
            .iter()
            .zip(REAL)
            .map(|(&off, val)| {
                (
                    if off >= l.used_heap_size {
                        off + 8
                    } else {
                        off
                    },
                    val,
                )
            })
            .collect();
        let buf = filled(&shifted);
        let err = verify_heap_statistics_strict(&l, &buf, &buf, &full_reference(REAL)).unwrap_err();
        assert!(
            matches!(
                err,
                LayoutError::Mismatch {
                    field: "used_heap_size",
                    ..
                }
            ),
            "{err}"
        );
        // Too few fields to compare is not a pass either.
        let mut few = HeapStatisticsReference::default();
        few.set("used_heap_size", REAL[4]);
        let good = filled(&l.fields().iter().copied().zip(REAL).collect::<Vec<_>>());
        assert!(verify_heap_statistics_strict(&l, &good, &good, &few).is_err());
    }
}
