/**
 * Tar archives generated on the fly (with tar-stream), for loading a repo with many files without
 * putting them on disk first. Entries are produced as the consumer reads: the generator waits for
 * each entry to be taken by the pack stream, so memory stays flat for a million entries.
 */
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';

export interface GeneratedFile {
  /** Path inside the archive, without a leading slash. */
  name: string;
  body: Buffer;
}

/** A tar stream of `count` files, the i-th given by `file(first + i)`. */
export function generateTar(first: number, count: number, file: (i: number) => GeneratedFile): Readable {
  const pack = tarStream.pack();
  const produce = async (): Promise<void> => {
    for (let i = first; i < first + count; i++) {
      const f = file(i);
      await new Promise<void>((resolveEntry, reject) => {
        pack.entry({ name: f.name, size: f.body.length, mode: 0o644, type: 'file' }, f.body, (err) => (err ? reject(err) : resolveEntry()));
      });
    }
    pack.finalize();
  };
  produce().catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  return Readable.from(pack as AsyncIterable<Buffer>);
}

/** A small deterministic PRNG (mulberry32), so runs pick the same "random" paths. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
