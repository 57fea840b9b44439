//! V8's sampling heap profiler (v8-profiler.h), read into Rust.
//!
//! - `bool HeapProfiler::StartSamplingHeapProfiler(uint64_t sample_interval,
//!   int stack_depth, SamplingFlags flags)`: false when a profiler already
//!   runs in this isolate (DevTools' "Allocation sampling", another copy of
//!   memwatch); that one is then read but never stopped. V8 CHECKs that the
//!   interval is non-zero (an abort): the callers validate first.
//! - `void HeapProfiler::StopSamplingHeapProfiler()`.
//! - `AllocationProfile* HeapProfiler::GetAllocationProfile()`: null when no
//!   profiler runs; ownership passes to the caller, who deletes it through
//!   its virtual destructor. With `kSamplingForceGC` (which DevTools sets,
//!   memwatch never does) it runs a full GC first. Its nodes hold `Local`s:
//!   a handle scope must be open (Node-API's), and this never runs inside a
//!   GC callback.
//!
//! `AllocationProfile` is abstract: `GetRootNode()` and `GetSamples()` are
//! virtual calls through its vtable, and the tree is inline structs
//! (`Node`, `Allocation`, `Sample`, `std::vector`s) read at the offsets of
//! `memwatch_core::layout::AllocationProfileLayout`. Those rows are checked
//! against every version's headers by the probe test; at run time the
//! vtable is compared with V8's own symbols where node exports them
//! (`verify_vtable`), every vector is checked for sanity before it is
//! walked, and a canary allocation must read back exactly (`src/sites.rs`).

use super::handles::{Local, Scope, Utf8};
use super::symbols::Sym;
use super::{BindingError, Isolate, Runtime};
use memwatch_core::layout::AllocationProfileLayout;
use memwatch_core::sites::{ProfileBuilder, SitesError};
use napi::sys;
use std::ffi::c_int;

#[repr(C)]
pub struct HeapProfiler {
    _private: [u8; 0],
}
#[repr(C)]
pub struct AllocationProfile {
    _private: [u8; 0],
}

/// `HeapProfiler::SamplingFlags::kSamplingNoFlags` (checked by the probe).
pub const SAMPLING_NO_FLAGS: c_int = 0;

type GetHeapProfilerFn = unsafe extern "C" fn(*mut Isolate) -> *mut HeapProfiler;
/// `bool` is returned in the low byte of the return register on every ABI;
/// read as `u8` and compared with 0, whatever the upper bits hold.
type StartFn = unsafe extern "C" fn(*mut HeapProfiler, u64, c_int, c_int) -> u8;
type StopFn = unsafe extern "C" fn(*mut HeapProfiler);
type GetProfileFn = unsafe extern "C" fn(*mut HeapProfiler) -> *mut AllocationProfile;
/// Virtual `Node* GetRootNode()` and `const std::vector<Sample>& GetSamples()`:
/// pointers (a reference is one) returned in a register.
type VirtualGetFn = unsafe extern "C" fn(*mut AllocationProfile) -> *const u8;
/// Itanium's deleting destructor (D0).
#[cfg(not(windows))]
type DeleteFn = unsafe extern "C" fn(*mut AllocationProfile);
/// MSVC's scalar deleting destructor: `flags & 1` frees the memory.
#[cfg(windows)]
type DeleteFn = unsafe extern "C" fn(*mut AllocationProfile, u32) -> *mut std::ffi::c_void;

/// Longest vector accepted while walking (children of one node, samples):
/// a misread length must not send the walk through gigabytes.
const MAX_VECTOR: usize = 1 << 24;
/// V8 cuts function names at 1,024 characters; script names can be long URLs.
const NAME_BUFFER: usize = 16 * 1024;

/// Why a read failed: the layout does not describe what V8 returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError(pub String);

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<SitesError> for ReadError {
    fn from(e: SitesError) -> Self {
        ReadError(e.to_string())
    }
}

#[derive(Clone, Copy)]
pub struct SamplingApi {
    get_heap_profiler: GetHeapProfilerFn,
    start: StartFn,
    stop: StopFn,
    get_profile: GetProfileFn,
    utf8: Utf8,
    pub layout: &'static AllocationProfileLayout,
    /// Whether the row was checked against this V8's headers.
    pub verified: bool,
}

/// An `AllocationProfile` V8 handed over, deleted on drop.
struct OwnedProfile {
    ptr: *mut AllocationProfile,
    delete: DeleteFn,
}

impl Drop for OwnedProfile {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from GetAllocationProfile, whose caller owns
        // it; this is `delete profile` (the virtual destructor), once.
        unsafe {
            #[cfg(not(windows))]
            (self.delete)(self.ptr);
            #[cfg(windows)]
            (self.delete)(self.ptr, 1);
        }
    }
}

unsafe fn word(p: *const u8, offset: usize) -> usize {
    std::ptr::read_unaligned(p.add(offset) as *const usize)
}
unsafe fn i32_at(p: *const u8, offset: usize) -> i32 {
    std::ptr::read_unaligned(p.add(offset) as *const i32)
}
unsafe fn u32_at(p: *const u8, offset: usize) -> u32 {
    std::ptr::read_unaligned(p.add(offset) as *const u32)
}
unsafe fn u64_at(p: *const u8, offset: usize) -> u64 {
    std::ptr::read_unaligned(p.add(offset) as *const u64)
}

fn aligned(p: usize) -> bool {
    p != 0 && p.is_multiple_of(std::mem::align_of::<usize>())
}

impl SamplingApi {
    pub(super) fn resolve(runtime: &Runtime) -> Result<Self, BindingError> {
        let p = runtime.profile;
        Ok(Self {
            get_heap_profiler: resolve_fn!(Sym::GetHeapProfiler, GetHeapProfilerFn),
            start: resolve_fn!(Sym::StartSamplingHeapProfiler, StartFn),
            stop: resolve_fn!(Sym::StopSamplingHeapProfiler, StopFn),
            get_profile: resolve_fn!(Sym::GetAllocationProfile, GetProfileFn),
            utf8: Utf8::resolve(runtime)?,
            layout: &p.allocation_profile,
            verified: runtime.verified,
        })
    }

    fn profiler(&self, isolate: *mut Isolate) -> Option<*mut HeapProfiler> {
        // SAFETY: the callers' contract: a live isolate, on its thread.
        let p = unsafe { (self.get_heap_profiler)(isolate) };
        (!p.is_null()).then_some(p)
    }

    /// Starts the profiler; false when one already runs (someone else's).
    ///
    /// # Safety
    /// On the isolate's thread, outside any GC callback; `interval > 0`
    /// (V8 aborts on 0) and `stack_depth > 0`.
    pub unsafe fn start(&self, isolate: *mut Isolate, interval: u64, stack_depth: i32) -> bool {
        debug_assert!(interval > 0 && stack_depth > 0);
        match self.profiler(isolate) {
            Some(p) => (self.start)(p, interval, stack_depth, SAMPLING_NO_FLAGS) != 0,
            None => false,
        }
    }

    /// # Safety
    /// On the isolate's thread, outside any GC callback. Only for a profiler
    /// this code started.
    pub unsafe fn stop(&self, isolate: *mut Isolate) {
        if let Some(p) = self.profiler(isolate) {
            (self.stop)(p);
        }
    }

    /// Asks V8 for the profile and hands it to `builder`: nodes in
    /// pre-order, then live samples. `Ok(false)` when no profiler runs.
    ///
    /// # Safety
    /// On the isolate's thread, from a Node-API call with `env`, outside any
    /// GC callback. If a foreign profiler asked for `kSamplingForceGC`, V8
    /// collects garbage here: the caller keeps such GCs out of `stats`.
    pub unsafe fn read(
        &self,
        env: sys::napi_env,
        isolate: *mut Isolate,
        builder: &mut ProfileBuilder<'_>,
    ) -> Result<bool, ReadError> {
        let Some(profiler) = self.profiler(isolate) else {
            return Ok(false);
        };
        // The tree's strings are handles: in this scope, closed after the
        // profile is deleted (declared first, dropped last).
        let _scope = Scope::open(env).ok_or_else(|| ReadError("no handle scope".into()))?;
        let ptr = (self.get_profile)(profiler);
        if ptr.is_null() {
            return Ok(false);
        }
        let vtable = word(ptr as *const u8, 0);
        if !aligned(vtable) {
            // Not deletable either; leaking it is the safe choice.
            return Err(ReadError(format!(
                "AllocationProfile vtable pointer {vtable:#x}"
            )));
        }
        let slot = |i: usize| word(vtable as *const u8, i * std::mem::size_of::<usize>());
        let l = self.layout;
        #[cfg(not(windows))]
        let delete_slot = l.vtable.itanium_deleting_dtor;
        #[cfg(windows)]
        let delete_slot = l.vtable.msvc_deleting_dtor;
        let (root_fn, samples_fn, delete_fn) = (
            slot(l.vtable.get_root_node),
            slot(l.vtable.get_samples),
            slot(delete_slot),
        );
        if root_fn == 0 || samples_fn == 0 || delete_fn == 0 {
            return Err(ReadError("AllocationProfile vtable has empty slots".into()));
        }
        let owned = OwnedProfile {
            ptr,
            delete: std::mem::transmute::<usize, DeleteFn>(delete_fn),
        };
        let get_root = std::mem::transmute::<usize, VirtualGetFn>(root_fn);
        let get_samples = std::mem::transmute::<usize, VirtualGetFn>(samples_fn);
        let root = get_root(owned.ptr);
        self.walk(isolate, root, builder)?;
        let samples = get_samples(owned.ptr);
        self.samples(samples, builder)?;
        drop(owned);
        Ok(true)
    }

    /// `(begin, len)` of a `std::vector<T>` with elements of `elem` bytes.
    unsafe fn vector(
        &self,
        v: *const u8,
        elem: usize,
        what: &str,
    ) -> Result<(*const u8, usize), ReadError> {
        let l = self.layout.vector;
        let (begin, end) = (word(v, l.begin), word(v, l.end));
        if begin == 0 && end == 0 {
            return Ok((std::ptr::null(), 0));
        }
        let bytes = end.wrapping_sub(begin);
        if !aligned(begin)
            || end < begin
            || !bytes.is_multiple_of(elem)
            || bytes / elem > MAX_VECTOR
        {
            return Err(ReadError(format!(
                "{what}: implausible std::vector (begin {begin:#x}, end {end:#x}, element {elem} bytes)"
            )));
        }
        Ok((begin as *const u8, bytes / elem))
    }

    unsafe fn walk(
        &self,
        isolate: *mut Isolate,
        root: *const u8,
        builder: &mut ProfileBuilder<'_>,
    ) -> Result<(), ReadError> {
        let l = self.layout;
        let n = l.node;
        if !aligned(root as usize) {
            return Err(ReadError(format!("root node pointer {:#x}", root as usize)));
        }
        let mut buf = vec![0u8; NAME_BUFFER];
        let mut url_buf = vec![0u8; NAME_BUFFER];
        // Depth-first, children pushed in reverse so pre-order keeps their order.
        let mut stack: Vec<(*const u8, Option<u32>)> = vec![(root, None)];
        while let Some((node, parent)) = stack.pop() {
            let script_id = i32_at(node, n.script_id);
            let position = i32_at(node, n.start_position);
            let frame = match builder.known_frame(script_id, position) {
                Some(f) => f,
                None => {
                    let name = self.utf8(isolate, word(node, n.name) as Local, &mut buf);
                    let url = self.utf8(isolate, word(node, n.script_name) as Local, &mut url_buf);
                    builder.frame(
                        script_id,
                        Some(position),
                        name,
                        url,
                        i32_at(node, n.line_number),
                        i32_at(node, n.column_number),
                    )
                }
            };
            let (allocs, count) = self.vector(
                node.add(n.allocations),
                l.allocation.size,
                "Node.allocations",
            )?;
            let mut self_bytes: u64 = 0;
            for i in 0..count {
                let a = allocs.add(i * l.allocation.size);
                let size = u64_at(a, l.allocation.size_field);
                let times = u32_at(a, l.allocation.count) as u64;
                self_bytes = self_bytes.saturating_add(size.saturating_mul(times));
            }
            let index = builder.node(parent, frame, u32_at(node, n.node_id), self_bytes)?;
            let ptr_size = std::mem::size_of::<usize>();
            let (children, count) = self.vector(node.add(n.children), ptr_size, "Node.children")?;
            if builder.node_count() + stack.len() + count > memwatch_core::sites::MAX_NODES {
                return Err(SitesError::TooManyNodes.into());
            }
            for i in (0..count).rev() {
                let child = word(children, i * ptr_size);
                if !aligned(child) {
                    return Err(ReadError(format!("child node pointer {child:#x}")));
                }
                stack.push((child as *const u8, Some(index)));
            }
        }
        Ok(())
    }

    unsafe fn samples(
        &self,
        v: *const u8,
        builder: &mut ProfileBuilder<'_>,
    ) -> Result<(), ReadError> {
        if !aligned(v as usize) {
            return Err(ReadError(format!(
                "samples vector pointer {:#x}",
                v as usize
            )));
        }
        let s = self.layout.sample;
        let (items, count) = self.vector(v, s.size, "samples")?;
        for i in 0..count {
            let e = items.add(i * s.size);
            if let Some(off) = s.is_live {
                // Only with kSamplingIncludeObjectsCollectedBy*GC (never
                // memwatch's flags): samples of objects already collected.
                if *e.add(off) == 0 {
                    continue;
                }
            }
            let size = u64_at(e, s.size_field);
            let times = u32_at(e, s.count) as u64;
            builder.sample(
                u32_at(e, s.node_id),
                size.saturating_mul(times),
                u64_at(e, s.sample_id),
            )?;
        }
        Ok(())
    }

    unsafe fn utf8<'b>(&self, isolate: *mut Isolate, local: Local, buf: &'b mut [u8]) -> &'b str {
        self.utf8.write(isolate, local, buf)
    }
}

/// What the run-time vtable check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VtableCheck {
    /// node exports V8's own `v8::internal::AllocationProfile` methods and
    /// the table's slots hold exactly them.
    Confirmed,
    /// node does not export them (Node 24 and later, macOS, Windows): the
    /// slots rest on the table row, which the probe test checked.
    Unavailable,
}

/// Compares the table's vtable slots with V8's own symbols, without calling
/// anything: `GetAllocationProfile` is asked for a profile only when one is
/// running. `Err` means the table is wrong for this V8.
///
/// # Safety
/// On the isolate's thread, from a Node-API call with `env`, outside any GC
/// callback.
pub unsafe fn verify_vtable(
    api: &SamplingApi,
    env: sys::napi_env,
    isolate: *mut Isolate,
) -> Result<VtableCheck, String> {
    #[cfg(unix)]
    {
        let find = |name: &std::ffi::CStr| {
            // SAFETY: dlsym only reads the symbol tables.
            let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
            p as usize
        };
        let expected = [
            (
                api.layout.vtable.get_root_node,
                find(c"_ZN2v88internal17AllocationProfile11GetRootNodeEv"),
            ),
            (
                api.layout.vtable.get_samples,
                find(c"_ZN2v88internal17AllocationProfile10GetSamplesEv"),
            ),
            (
                api.layout.vtable.itanium_deleting_dtor,
                find(c"_ZN2v88internal17AllocationProfileD0Ev"),
            ),
        ];
        if expected.iter().any(|(_, addr)| *addr == 0) {
            return Ok(VtableCheck::Unavailable);
        }
        let Some(profiler) = api.profiler(isolate) else {
            return Ok(VtableCheck::Unavailable);
        };
        // The profile's nodes hold handles: in this scope, dropped last.
        let _scope = Scope::open(env).ok_or("no handle scope")?;
        let ptr = (api.get_profile)(profiler);
        if ptr.is_null() {
            return Ok(VtableCheck::Unavailable);
        }
        let vtable = word(ptr as *const u8, 0);
        let owned = OwnedProfile {
            ptr,
            delete: std::mem::transmute::<usize, DeleteFn>(expected[2].1),
        };
        if !aligned(vtable) {
            return Err(format!("AllocationProfile vtable pointer {vtable:#x}"));
        }
        let mismatch = expected.iter().find(|(slot, addr)| {
            word(vtable as *const u8, slot * std::mem::size_of::<usize>()) != *addr
        });
        drop(owned);
        match mismatch {
            Some((slot, _)) => Err(format!(
                "AllocationProfile vtable slot {slot} is not the function the layout table names"
            )),
            None => Ok(VtableCheck::Confirmed),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (api, env, isolate);
        Ok(VtableCheck::Unavailable)
    }
}
