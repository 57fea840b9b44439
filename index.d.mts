// Types of the ES module face (index.mjs): the default export is the same
// object as `require('memwatch')`; the named exports are its members.
import memwatch from './index.js';

export default memwatch;

export type Stats = memwatch.Stats;
export type LeakInfo = memwatch.LeakInfo;
export type LeakSite = memwatch.LeakSite;
export type SamplingOptions = memwatch.SamplingOptions;
export type SamplingStatus = memwatch.SamplingStatus;
export type ConfigureOptions = memwatch.ConfigureOptions;
export type SitesOptions = memwatch.SitesOptions;
export type CallbackCost = memwatch.CallbackCost;
export type HeapDiffResult = memwatch.HeapDiffResult;
export type HeapDiffDetail = memwatch.HeapDiffDetail;
export type HeapDiffExample = memwatch.HeapDiffExample;
export type HeapDiffSnapshot = memwatch.HeapDiffSnapshot;
export type HeapDiffEndOptions = memwatch.HeapDiffEndOptions;
export type ClassGroup = memwatch.ClassGroup;
export type SnapshotAnalysis = memwatch.SnapshotAnalysis;
export type AnalyzeOptions = memwatch.AnalyzeOptions;
export type IterateOptions = memwatch.IterateOptions;
export type IterateResult = memwatch.IterateResult;
export type LeakedClass = memwatch.LeakedClass;

export declare const HeapDiff: memwatch.HeapDiffConstructor;
export declare const iterate: memwatch.Iterate;
export declare const analyzeSnapshot: memwatch.Memwatch['analyzeSnapshot'];
export declare const MemoryLeakError: memwatch.Iterate['MemoryLeakError'];
export declare const backend: memwatch.Memwatch['backend'];
export declare const backendReason: memwatch.Memwatch['backendReason'];
export declare const gc: memwatch.Memwatch['gc'];
export declare const callbackCost: memwatch.Memwatch['callbackCost'];
export declare const record: memwatch.Memwatch['record'];
export declare const configure: memwatch.Memwatch['configure'];
export declare const sites: memwatch.Memwatch['sites'];
export declare const writeHeapProfile: memwatch.Memwatch['writeHeapProfile'];
export declare const on: memwatch.Memwatch['on'];
export declare const once: memwatch.Memwatch['once'];
export declare const off: memwatch.Memwatch['off'];
export declare const addListener: memwatch.Memwatch['addListener'];
export declare const removeListener: memwatch.Memwatch['removeListener'];
export declare const removeAllListeners: memwatch.Memwatch['removeAllListeners'];
export declare const prependListener: memwatch.Memwatch['prependListener'];
export declare const prependOnceListener: memwatch.Memwatch['prependOnceListener'];
export declare const listenerCount: memwatch.Memwatch['listenerCount'];
