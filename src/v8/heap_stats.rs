//! `v8::HeapStatistics` read through a buffer V8 fills in.
//!
//! The accessors are inline in the header, so fields are read at the offsets
//! of the runtime's `V8Profile`. The buffer is several times larger than the
//! struct and 8-byte aligned, so a V8 with a bigger struct cannot overrun it.

use super::{Isolate, V8Api};
use memwatch_core::layout::{
    read_field, verify_heap_statistics, verify_heap_statistics_strict, HeapStatisticsReference,
    LayoutError, HEAP_STATISTICS_BUFFER,
};
use std::ffi::c_void;

/// The fields memwatch reports.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeapNumbers {
    pub used_heap_size: u64,
    pub total_heap_size: u64,
    pub total_heap_size_executable: u64,
    pub total_physical_size: u64,
    pub total_available_size: u64,
    pub heap_size_limit: u64,
    pub malloced_memory: u64,
    pub peak_malloced_memory: u64,
    pub external_memory: u64,
}

type Buffer = Box<[u64; HEAP_STATISTICS_BUFFER / 8]>;

pub struct HeapStatisticsReader {
    api: &'static V8Api,
    // u64 words for alignment; allocated once so the GC callback never allocates.
    buf: Buffer,
}

fn bytes(buf: &Buffer) -> &[u8] {
    // SAFETY: a [u64; N] is N*8 initialised bytes.
    unsafe { std::slice::from_raw_parts(buf.as_ptr() as *const u8, HEAP_STATISTICS_BUFFER) }
}

impl HeapStatisticsReader {
    pub fn new(api: &'static V8Api) -> Self {
        let mut buf = Box::new([0u64; HEAP_STATISTICS_BUFFER / 8]);
        // SAFETY: the constructor writes its own fields (zeroes) into a buffer
        // larger than any HeapStatistics; it holds no resources (no destructor).
        unsafe { (api.heap_statistics_ctor)(buf.as_mut_ptr() as *mut c_void) };
        Self { api, buf }
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
        let l = &self.api.runtime.profile.heap_statistics;
        let b = bytes(&self.buf);
        HeapNumbers {
            used_heap_size: read_field(b, l.used_heap_size),
            total_heap_size: read_field(b, l.total_heap_size),
            total_heap_size_executable: read_field(b, l.total_heap_size_executable),
            total_physical_size: read_field(b, l.total_physical_size),
            total_available_size: read_field(b, l.total_available_size),
            heap_size_limit: read_field(b, l.heap_size_limit),
            malloced_memory: read_field(b, l.malloced_memory),
            peak_malloced_memory: read_field(b, l.peak_malloced_memory),
            external_memory: read_field(b, l.external_memory),
        }
    }

    /// Checks the assumed layout: reads the struct, lets `reference` read
    /// `v8.getHeapStatistics()`, reads again, and compares. A verified table
    /// row gets the plausibility check; a guessed one (a V8 newer than the
    /// table) must match field by field.
    ///
    /// # Safety
    /// `isolate` must be live and the caller on its thread, outside a GC.
    pub unsafe fn verify(
        &mut self,
        isolate: *mut Isolate,
        reference: impl Fn() -> Result<HeapStatisticsReference, String>,
    ) -> Result<(), String> {
        let layout = self.api.runtime.profile.heap_statistics;
        if self.api.runtime.verified {
            let js = reference()?;
            self.refresh(isolate);
            return verify_heap_statistics(&layout, bytes(&self.buf), &js)
                .map_err(|e| e.to_string());
        }
        // Something (a GC, an allocation in V8) may change a field between
        // the reads; a real mismatch persists, a race does not.
        let mut last: Option<LayoutError> = None;
        for _ in 0..3 {
            self.refresh(isolate);
            let before = self.buf.clone();
            let js = reference()?;
            self.refresh(isolate);
            match verify_heap_statistics_strict(&layout, bytes(&before), bytes(&self.buf), &js) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.map(|e| e.to_string()).unwrap_or_default())
    }
}
