//! Every V8 function the binding calls, by its exported (mangled) name, and
//! how a name is looked up in the running process.
//!
//! One row per function: the Itanium name (Linux and macOS; dlsym adds
//! macOS's leading underscore itself) and the MSVC name (Windows' node.exe),
//! both read off the export tables of the node binaries in the test matrix.
//! Mangled names encode parameter types but not return types, struct layouts
//! or enum values; those are in `memwatch_core::layout` and checked against
//! each version's headers by the test suite (`scripts/v8-probe.cc`).
//!
//! Which rows a given V8 needs depends on its version: the snapshot and UTF-8
//! rows come in variants (`layout::SnapshotOverload`, `layout::Utf8Writer`).

use memwatch_core::layout::{SnapshotOverload, Utf8Writer, V8Profile};
use std::ffi::{c_void, CStr};

/// A function the binding may resolve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sym {
    GetCurrent,
    AddGcPrologue,
    AddGcEpilogue,
    RemoveGcPrologue,
    RemoveGcEpilogue,
    GetHeapStatistics,
    HeapStatisticsCtor,
    LowMemoryNotification,
    GetVersion,
    GetHeapProfiler,
    TakeSnapshotObjectNameResolver,
    TakeSnapshotContextNameResolver,
    ClearObjectIds,
    GetObjectId,
    SnapshotNodesCount,
    SnapshotGetNode,
    SnapshotDelete,
    NodeType,
    NodeName,
    NodeId,
    NodeShallowSize,
    NodeChildrenCount,
    NodeChild,
    EdgeType,
    EdgeName,
    EdgeToNode,
    WriteUtf8,
    WriteUtf8V2,
    NumberValue,
    StartSamplingHeapProfiler,
    StopSamplingHeapProfiler,
    GetAllocationProfile,
}

/// Which part of the binding needs a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// GC hooks, heap statistics, `gc()`.
    Gc,
    /// Heap snapshots (HeapDiff).
    Snapshot,
    /// The sampling heap profiler (leak sites).
    Sampling,
}

pub struct Row {
    pub sym: Sym,
    pub part: Part,
    /// Linux (and macOS unless `darwin` says otherwise).
    pub itanium: &'static CStr,
    /// macOS, where it differs: `uint64_t` is `unsigned long long` there
    /// (mangled `y`), `unsigned long` on Linux (`m`).
    pub darwin: Option<&'static CStr>,
    pub msvc: &'static CStr,
}

macro_rules! rows {
    ($($sym:ident, $part:ident, $itanium:literal $(darwin $darwin:literal)?, $msvc:literal;)*) => {
        pub const ROWS: &[Row] = &[$(Row {
            sym: Sym::$sym,
            part: Part::$part,
            itanium: $itanium,
            darwin: rows!(@opt $($darwin)?),
            msvc: $msvc,
        }),*];
    };
    (@opt) => { None };
    (@opt $d:literal) => { Some($d) };
}

rows! {
    GetCurrent, Gc,
        c"_ZN2v87Isolate10GetCurrentEv",
        c"?GetCurrent@Isolate@v8@@SAPEAV12@XZ";
    // The overloads taking a `void* data` (GCCallbackWithData).
    AddGcPrologue, Gc,
        c"_ZN2v87Isolate21AddGCPrologueCallbackEPFvPS0_NS_6GCTypeENS_15GCCallbackFlagsEPvES4_S2_",
        c"?AddGCPrologueCallback@Isolate@v8@@QEAAXP6AXPEAV12@W4GCType@2@W4GCCallbackFlags@2@PEAX@Z31@Z";
    AddGcEpilogue, Gc,
        c"_ZN2v87Isolate21AddGCEpilogueCallbackEPFvPS0_NS_6GCTypeENS_15GCCallbackFlagsEPvES4_S2_",
        c"?AddGCEpilogueCallback@Isolate@v8@@QEAAXP6AXPEAV12@W4GCType@2@W4GCCallbackFlags@2@PEAX@Z31@Z";
    RemoveGcPrologue, Gc,
        c"_ZN2v87Isolate24RemoveGCPrologueCallbackEPFvPS0_NS_6GCTypeENS_15GCCallbackFlagsEPvES4_",
        c"?RemoveGCPrologueCallback@Isolate@v8@@QEAAXP6AXPEAV12@W4GCType@2@W4GCCallbackFlags@2@PEAX@Z3@Z";
    RemoveGcEpilogue, Gc,
        c"_ZN2v87Isolate24RemoveGCEpilogueCallbackEPFvPS0_NS_6GCTypeENS_15GCCallbackFlagsEPvES4_",
        c"?RemoveGCEpilogueCallback@Isolate@v8@@QEAAXP6AXPEAV12@W4GCType@2@W4GCCallbackFlags@2@PEAX@Z3@Z";
    GetHeapStatistics, Gc,
        c"_ZN2v87Isolate17GetHeapStatisticsEPNS_14HeapStatisticsE",
        c"?GetHeapStatistics@Isolate@v8@@QEAAXPEAVHeapStatistics@2@@Z";
    HeapStatisticsCtor, Gc,
        c"_ZN2v814HeapStatisticsC1Ev",
        c"??0HeapStatistics@v8@@QEAA@XZ";
    LowMemoryNotification, Gc,
        c"_ZN2v87Isolate21LowMemoryNotificationEv",
        c"?LowMemoryNotification@Isolate@v8@@QEAAXXZ";
    GetVersion, Gc,
        c"_ZN2v82V810GetVersionEv",
        c"?GetVersion@V8@v8@@SAPEBDXZ";
    GetHeapProfiler, Snapshot,
        c"_ZN2v87Isolate15GetHeapProfilerEv",
        c"?GetHeapProfiler@Isolate@v8@@QEAAPEAVHeapProfiler@2@XZ";
    TakeSnapshotObjectNameResolver, Snapshot,
        c"_ZN2v812HeapProfiler16TakeHeapSnapshotEPNS_15ActivityControlEPNS0_18ObjectNameResolverEbb",
        c"?TakeHeapSnapshot@HeapProfiler@v8@@QEAAPEBVHeapSnapshot@2@PEAVActivityControl@2@PEAVObjectNameResolver@12@_N2@Z";
    TakeSnapshotContextNameResolver, Snapshot,
        c"_ZN2v812HeapProfiler16TakeHeapSnapshotEPNS_15ActivityControlEPNS0_19ContextNameResolverEbb",
        c"?TakeHeapSnapshot@HeapProfiler@v8@@QEAAPEBVHeapSnapshot@2@PEAVActivityControl@2@PEAVContextNameResolver@12@_N2@Z";
    ClearObjectIds, Snapshot,
        c"_ZN2v812HeapProfiler14ClearObjectIdsEv",
        c"?ClearObjectIds@HeapProfiler@v8@@QEAAXXZ";
    GetObjectId, Snapshot,
        c"_ZN2v812HeapProfiler11GetObjectIdENS_5LocalINS_5ValueEEE",
        c"?GetObjectId@HeapProfiler@v8@@QEAAIV?$Local@VValue@v8@@@2@@Z";
    SnapshotNodesCount, Snapshot,
        c"_ZNK2v812HeapSnapshot13GetNodesCountEv",
        c"?GetNodesCount@HeapSnapshot@v8@@QEBAHXZ";
    SnapshotGetNode, Snapshot,
        c"_ZNK2v812HeapSnapshot7GetNodeEi",
        c"?GetNode@HeapSnapshot@v8@@QEBAPEBVHeapGraphNode@2@H@Z";
    SnapshotDelete, Snapshot,
        c"_ZN2v812HeapSnapshot6DeleteEv",
        c"?Delete@HeapSnapshot@v8@@QEAAXXZ";
    NodeType, Snapshot,
        c"_ZNK2v813HeapGraphNode7GetTypeEv",
        c"?GetType@HeapGraphNode@v8@@QEBA?AW4Type@12@XZ";
    NodeName, Snapshot,
        c"_ZNK2v813HeapGraphNode7GetNameEv",
        c"?GetName@HeapGraphNode@v8@@QEBA?AV?$Local@VString@v8@@@2@XZ";
    NodeId, Snapshot,
        c"_ZNK2v813HeapGraphNode5GetIdEv",
        c"?GetId@HeapGraphNode@v8@@QEBAIXZ";
    NodeShallowSize, Snapshot,
        c"_ZNK2v813HeapGraphNode14GetShallowSizeEv",
        c"?GetShallowSize@HeapGraphNode@v8@@QEBA_KXZ";
    NodeChildrenCount, Snapshot,
        c"_ZNK2v813HeapGraphNode16GetChildrenCountEv",
        c"?GetChildrenCount@HeapGraphNode@v8@@QEBAHXZ";
    NodeChild, Snapshot,
        c"_ZNK2v813HeapGraphNode8GetChildEi",
        c"?GetChild@HeapGraphNode@v8@@QEBAPEBVHeapGraphEdge@2@H@Z";
    EdgeType, Snapshot,
        c"_ZNK2v813HeapGraphEdge7GetTypeEv",
        c"?GetType@HeapGraphEdge@v8@@QEBA?AW4Type@12@XZ";
    EdgeName, Snapshot,
        c"_ZNK2v813HeapGraphEdge7GetNameEv",
        c"?GetName@HeapGraphEdge@v8@@QEBA?AV?$Local@VValue@v8@@@2@XZ";
    EdgeToNode, Snapshot,
        c"_ZNK2v813HeapGraphEdge9GetToNodeEv",
        c"?GetToNode@HeapGraphEdge@v8@@QEBAPEBVHeapGraphNode@2@XZ";
    WriteUtf8, Snapshot,
        c"_ZNK2v86String9WriteUtf8EPNS_7IsolateEPciPii",
        c"?WriteUtf8@String@v8@@QEBAHPEAVIsolate@2@PEADHPEAHH@Z";
    WriteUtf8V2, Snapshot,
        c"_ZNK2v86String11WriteUtf8V2EPNS_7IsolateEPcmiPm",
        c"?WriteUtf8V2@String@v8@@QEBA_KPEAVIsolate@2@PEAD_KHPEA_K@Z";
    NumberValue, Snapshot,
        c"_ZNK2v86Number5ValueEv",
        c"?Value@Number@v8@@QEBANXZ";
    // `uint64_t sample_interval`.
    StartSamplingHeapProfiler, Sampling,
        c"_ZN2v812HeapProfiler25StartSamplingHeapProfilerEmiNS0_13SamplingFlagsE"
        darwin c"_ZN2v812HeapProfiler25StartSamplingHeapProfilerEyiNS0_13SamplingFlagsE",
        c"?StartSamplingHeapProfiler@HeapProfiler@v8@@QEAA_N_KHW4SamplingFlags@12@@Z";
    StopSamplingHeapProfiler, Sampling,
        c"_ZN2v812HeapProfiler24StopSamplingHeapProfilerEv",
        c"?StopSamplingHeapProfiler@HeapProfiler@v8@@QEAAXXZ";
    GetAllocationProfile, Sampling,
        c"_ZN2v812HeapProfiler20GetAllocationProfileEv",
        c"?GetAllocationProfile@HeapProfiler@v8@@QEAAPEAVAllocationProfile@2@XZ";
}

impl Row {
    /// The name under which this platform's node exports the function.
    pub fn name(&self) -> &'static CStr {
        if cfg!(windows) {
            self.msvc
        } else if cfg!(target_os = "macos") {
            self.darwin.unwrap_or(self.itanium)
        } else {
            self.itanium
        }
    }
}

pub fn row(sym: Sym) -> &'static Row {
    // ROWS lists every `Sym` once, in declaration order (a unit test checks).
    &ROWS[sym as usize]
}

/// Whether a V8 of `profile` uses `sym` (variants it does not use are skipped).
pub fn used_by(profile: &V8Profile, sym: Sym) -> bool {
    match sym {
        Sym::TakeSnapshotObjectNameResolver => {
            profile.snapshot == SnapshotOverload::ObjectNameResolver
        }
        Sym::TakeSnapshotContextNameResolver => {
            profile.snapshot == SnapshotOverload::ContextNameResolver
        }
        Sym::WriteUtf8 => profile.utf8 == Utf8Writer::WriteUtf8,
        Sym::WriteUtf8V2 => profile.utf8 == Utf8Writer::WriteUtf8V2,
        _ => true,
    }
}

/// The rows a V8 of `profile` needs, for the symbol checks of the tests.
pub fn rows_for(profile: &'static V8Profile) -> impl Iterator<Item = &'static Row> {
    ROWS.iter().filter(move |r| used_by(profile, r.sym))
}

/// The address of `sym` in the running process, or `None`.
pub fn lookup(sym: Sym) -> Option<*mut c_void> {
    let p = platform::find(row(sym).name());
    (!p.is_null()).then_some(p)
}

#[cfg(unix)]
mod platform {
    use std::ffi::{c_void, CStr};

    pub fn find(name: &CStr) -> *mut c_void {
        // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads.
        unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) }
    }
}

#[cfg(windows)]
mod platform {
    use std::ffi::{c_char, c_void, CStr};

    // kernel32; declared here rather than through a crate, for two functions.
    extern "system" {
        fn GetModuleHandleW(name: *const u16) -> *mut c_void;
        fn GetProcAddress(module: *mut c_void, name: *const c_char) -> *mut c_void;
    }

    pub fn find(name: &CStr) -> *mut c_void {
        // SAFETY: a null module name means the process's executable (node.exe,
        // which exports V8); GetProcAddress only reads the export table.
        unsafe {
            let exe = GetModuleHandleW(std::ptr::null());
            if exe.is_null() {
                return std::ptr::null_mut();
            }
            GetProcAddress(exe, name.as_ptr())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_follow_the_enum() {
        assert_eq!(ROWS.len(), Sym::GetAllocationProfile as usize + 1);
        for (i, r) in ROWS.iter().enumerate() {
            assert_eq!(r.sym as usize, i, "{:?} is out of order", r.sym);
            assert!(r.itanium.to_bytes().starts_with(b"_ZN"));
            assert!(r.msvc.to_bytes().starts_with(b"?"));
        }
    }
}
