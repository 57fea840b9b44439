//! `v8::HeapStatistics` read through a buffer V8 fills in.
//!
//! The accessors are inline in the header, so fields are read at the offsets
//! of `memwatch_core::layout`. The buffer is several times larger than the
//! struct and 8-byte aligned, so a V8 with a bigger struct cannot overrun it.

use super::{Isolate, V8Api};
use memwatch_core::layout::{
    read_field, verify_heap_statistics, HeapStatisticsReference, LayoutError,
    HEAP_STATISTICS_BUFFER,
};
use std::ffi::c_void;

/// The fields memwatch reports.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeapNumbers {
    pub used_heap_size: u64,
    pub total_heap_size: u64,
    pub heap_size_limit: u64,
    pub external_memory: u64,
}

pub struct HeapStatisticsReader {
    api: &'static V8Api,
    // u64 words for alignment; allocated once so the GC callback never allocates.
    buf: Box<[u64; HEAP_STATISTICS_BUFFER / 8]>,
}

impl HeapStatisticsReader {
    pub fn new(api: &'static V8Api) -> Self {
        let mut buf = Box::new([0u64; HEAP_STATISTICS_BUFFER / 8]);
        // SAFETY: the constructor writes its own fields (zeroes) into a buffer
        // larger than any HeapStatistics; it holds no resources (no destructor).
        unsafe { (api.heap_statistics_ctor)(buf.as_mut_ptr() as *mut c_void) };
        Self { api, buf }
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: a [u64; N] is N*8 initialised bytes.
        unsafe {
            std::slice::from_raw_parts(self.buf.as_ptr() as *const u8, HEAP_STATISTICS_BUFFER)
        }
    }

    /// Refreshes the buffer. Allocation-free; safe inside a GC callback (what
    /// memwatch 0.2 did too).
    ///
    /// # Safety
    /// `isolate` must be live and the caller on its thread.
    pub unsafe fn refresh(&mut self, isolate: *mut Isolate) {
        (self.api.get_heap_statistics)(isolate, self.buf.as_mut_ptr() as *mut c_void);
    }

    pub fn numbers(&self) -> HeapNumbers {
        let l = &self.api.heap_statistics_layout;
        let b = self.bytes();
        HeapNumbers {
            used_heap_size: read_field(b, l.used_heap_size),
            total_heap_size: read_field(b, l.total_heap_size),
            heap_size_limit: read_field(b, l.heap_size_limit),
            external_memory: read_field(b, l.external_memory),
        }
    }

    /// Checks the assumed layout against what JS's `v8.getHeapStatistics()`
    /// said just before; call right after `refresh`.
    pub fn verify(&self, reference: &HeapStatisticsReference) -> Result<(), LayoutError> {
        verify_heap_statistics(&self.api.heap_statistics_layout, self.bytes(), reference)
    }
}
