/**
 * The object store holds file bytes as content-defined chunks packed into pack files.
 *
 * A pack is written once through a `PackWriter` and becomes visible only when sealed: sealing
 * flushes the bytes to disk (fsync), then renames the pack into place and syncs the folder. The
 * index that says which chunk lives where (hash -> pack, offset, length) is kept in the
 * metadata store, so the pfs layer seals a pack *before* the metadata transaction that names
 * its chunks (DESIGN.md invariant 1). A pack no metadata names (a crash between seal and the
 * transaction, an aborted upload) is garbage: `listPacks` + `deletePack` let the collector
 * remove it, and `cleanupTemp` removes half-written packs at start-up.
 */

/** A sealed pack as the store lists it: size in bytes, and when it was sealed (ms since epoch). */
export interface PackInfo {
  id: string;
  size: number;
  /**
   * When the pack was last written (file mtime; S3 LastModified, which for a multipart upload is
   * when it began): never later than its seal. The collector leaves packs younger than its grace
   * period alone, since an upload in another process may be about to name them.
   */
  modifiedAt: number;
}

/** A chunk of a file: SHA-256 of its bytes (64 lowercase hex) and its length. */
export interface ChunkRef {
  hash: string;
  size: number;
}

/** Where a chunk's bytes live. */
export interface ChunkLocation {
  pack: string;
  offset: number;
  length: number;
}

export interface PackWriter {
  /** The pack id, known from the start; stable after sealing. */
  readonly id: string;
  /** Bytes written so far. */
  readonly size: number;
  /** Appends one chunk's bytes; resolves to its offset in the pack. */
  append(data: Uint8Array): Promise<number>;
  /** fsync the bytes, rename the pack into place, fsync the folder. After this the pack is durable. */
  seal(): Promise<void>;
  /** Drops an unsealed pack. Safe to call twice or after a failed append. */
  abort(): Promise<void>;
}

export interface ObjectStore {
  /** Prepares the store (folders) and removes unsealed temporary packs left by a crash. */
  open(): Promise<{ removedTemp: number }>;
  createPackWriter(): Promise<PackWriter>;
  /** Reads `length` bytes at `offset` of a sealed pack. Throws PFS_CORRUPT if the pack is missing or short. */
  read(loc: ChunkLocation): Promise<Buffer>;
  /** Every sealed pack id. */
  listPacks(): AsyncIterable<string>;
  /** Every sealed pack with its size and age (one listing; no request per pack on S3). */
  listPackInfos(): AsyncIterable<PackInfo>;
  deletePack(id: string): Promise<void>;
  close(): Promise<void>;
}
