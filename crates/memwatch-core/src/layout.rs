//! Struct layouts of V8 classes whose accessors are inline in the headers, so
//! the addon must read their fields by offset.
//!
//! Mangled symbol names carry no layouts: a table per V8 major, checked in CI
//! against each supported Node's `include/node/v8-statistics.h` (a C++ probe,
//! `scripts/layout-probe.cc`), and at start-up against `v8.getHeapStatistics()`.
//! Unknown majors get no layout, which sends the addon to its fallback.

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

/// V8 10.x (Node 18/19) through 13.x (Node 24): the same 14 fields, with the
/// `bool does_zap_garbage_` at 72 padded to 8.
const HEAP_STATISTICS_V10_TO_V13: HeapStatisticsLayout = HeapStatisticsLayout {
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

/// V8 majors whose headers this table was checked against.
pub const SUPPORTED_V8_MAJORS: &[u32] = &[10, 11, 12, 13];

pub fn heap_statistics_layout(v8_major: u32) -> Option<HeapStatisticsLayout> {
    match v8_major {
        10..=13 => Some(HEAP_STATISTICS_V10_TO_V13),
        _ => None,
    }
}

/// `"11.3.244.8-node.33"` -> 11.
pub fn parse_v8_major(version: &str) -> Option<u32> {
    version.split('.').next()?.trim().parse().ok()
}

/// What JS's `v8.getHeapStatistics()` said, read just before the native read.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeapStatisticsReference {
    pub heap_size_limit: u64,
    pub total_heap_size: u64,
    pub used_heap_size: u64,
    pub number_of_native_contexts: u64,
    pub number_of_detached_contexts: u64,
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

/// Checks a layout against a buffer that V8 filled and the JS reference.
/// Fields that do not move between two reads must match exactly; heap sizes
/// (which a GC between the two reads could change) must be plausible.
pub fn verify_heap_statistics(
    layout: &HeapStatisticsLayout,
    buf: &[u8],
    reference: &HeapStatisticsReference,
) -> Result<(), LayoutError> {
    if buf.len() < layout.size {
        return Err(LayoutError::BufferTooSmall {
            need: layout.size,
            have: buf.len(),
        });
    }
    let exact = [
        (
            "heap_size_limit",
            layout.heap_size_limit,
            reference.heap_size_limit,
        ),
        (
            "number_of_native_contexts",
            layout.number_of_native_contexts,
            reference.number_of_native_contexts,
        ),
        (
            "number_of_detached_contexts",
            layout.number_of_detached_contexts,
            reference.number_of_detached_contexts,
        ),
    ];
    for (field, offset, want) in exact {
        let native = read_field(buf, offset);
        if native != want {
            return Err(LayoutError::Mismatch {
                field,
                native,
                expected: want.to_string(),
            });
        }
    }
    let total = read_field(buf, layout.total_heap_size);
    let used = read_field(buf, layout.used_heap_size);
    let plausible = |native: u64, want: u64| native >= want / 2 && native <= want.saturating_mul(2);
    if reference.total_heap_size == 0 || !plausible(total, reference.total_heap_size) {
        return Err(LayoutError::Mismatch {
            field: "total_heap_size",
            native: total,
            expected: format!("about {}", reference.total_heap_size),
        });
    }
    if used == 0 || used > total || !plausible(used, reference.used_heap_size) {
        return Err(LayoutError::Mismatch {
            field: "used_heap_size",
            native: used,
            expected: format!(
                "about {} and at most total_heap_size {}",
                reference.used_heap_size, total
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(layout: &HeapStatisticsLayout, vals: &[(usize, u64)]) -> Vec<u8> {
        let mut buf = vec![0u8; HEAP_STATISTICS_BUFFER];
        for (off, v) in vals {
            buf[*off..*off + 8].copy_from_slice(&v.to_ne_bytes());
        }
        let _ = layout;
        buf
    }

    fn reference() -> HeapStatisticsReference {
        HeapStatisticsReference {
            heap_size_limit: 4_345_298_944,
            total_heap_size: 6_000_000,
            used_heap_size: 4_000_000,
            number_of_native_contexts: 1,
            number_of_detached_contexts: 0,
        }
    }

    #[test]
    fn majors_parse_and_map() {
        assert_eq!(parse_v8_major("11.3.244.8-node.33"), Some(11));
        assert_eq!(parse_v8_major("garbage"), None);
        for m in SUPPORTED_V8_MAJORS {
            assert_eq!(heap_statistics_layout(*m).map(|l| l.size), Some(112));
        }
        assert_eq!(heap_statistics_layout(9), None);
        assert_eq!(heap_statistics_layout(14), None);
    }

    #[test]
    fn a_correct_layout_verifies() {
        let l = heap_statistics_layout(11).unwrap();
        let buf = filled(
            &l,
            &[
                (l.total_heap_size, 6_100_000),
                (l.used_heap_size, 4_100_000),
                (l.heap_size_limit, 4_345_298_944),
                (l.number_of_native_contexts, 1),
            ],
        );
        assert_eq!(verify_heap_statistics(&l, &buf, &reference()), Ok(()));
    }

    #[test]
    fn a_shifted_layout_is_refused() {
        let l = heap_statistics_layout(11).unwrap();
        // The struct V8 wrote has one extra word in front of everything.
        let buf = filled(
            &l,
            &[
                (l.total_heap_size + 8, 6_100_000),
                (l.used_heap_size + 8, 4_100_000),
                (l.heap_size_limit + 8, 4_345_298_944),
                (l.number_of_native_contexts + 8, 1),
            ],
        );
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
        let l = heap_statistics_layout(12).unwrap();
        let buf = filled(
            &l,
            &[
                (l.total_heap_size, 6_100_000),
                (l.used_heap_size, 9_000_000),
                (l.heap_size_limit, 4_345_298_944),
                (l.number_of_native_contexts, 1),
            ],
        );
        assert!(verify_heap_statistics(&l, &buf, &reference()).is_err());
        assert!(matches!(
            verify_heap_statistics(&l, &buf[..64], &reference()),
            Err(LayoutError::BufferTooSmall { .. })
        ));
    }
}
