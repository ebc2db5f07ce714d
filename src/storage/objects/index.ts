/**
 * The object store: content-defined chunking and packs of chunks. Other folders import from here
 * only. The conformance suite (`object-store-conformance.ts`) is not re-exported because it
 * registers node:test tests; implementations' test files import it directly.
 */
export type { ChunkLocation, ChunkRef, ObjectStore, PackInfo, PackWriter } from './object-store.js';
export { FsObjectStore, type FsObjectStoreOptions } from './fs-object-store.js';
export { MeteredObjectStore } from './metered-object-store.js';
export { Chunker, chunkBuffer, chunkStream, DEFAULT_CHUNKER_OPTIONS, hashChunk, type ChunkerOptions } from './chunker.js';
export { openObjectStore, parseObjectsUrl, describeObjects, type ObjectsSpec } from './open.js';
