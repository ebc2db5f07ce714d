/**
 * fsck: verifies every finished commit of every repo. For each commit it walks the tree from
 * its root, checking that every node is present and hashes to its name (nodes shared between
 * commits are checked once); it then checks that every chunk a file names is in the chunk
 * index, that its pack holds it, and that its bytes hash to its name. It reads, never writes.
 */
import { createHash } from 'node:crypto';
import type { FsckReport } from '../api/types.js';
import { SluiceError } from '../errors/index.js';
import type { PfsContext } from './context.js';
import { isFileValue } from './entries.js';
import { decodeNode, walkNodes } from './tree/index.js';

export class Fsck {
  constructor(private readonly ctx: PfsContext) {}

  async run(): Promise<FsckReport> {
    const db = this.ctx.db;
    const report: FsckReport = { commitsChecked: 0, nodesChecked: 0, chunksChecked: 0, bytesChecked: 0, errors: [] };
    const seenNodes = new Set<string>();
    // chunk hash -> first commit that names it (for error messages)
    const chunks = new Map<string, { repo: string; commit: string; size: number }>();
    const commits = await db.selectFrom('commits').select(['repo', 'id', 'root', 'size_bytes']).where('finished_at', 'is not', null).orderBy('repo').orderBy('depth').execute();
    const reader = this.ctx.nodeReader(db);
    for (const c of commits) {
      report.commitsChecked++;
      try {
        await walkNodes(reader, c.root, (hash, bytes) => {
          if (seenNodes.has(hash)) return false;
          seenNodes.add(hash);
          report.nodesChecked++;
          const node = decodeNode(bytes, hash);
          if (node.kind === 'leaf') {
            for (const v of node.values) {
              if (!isFileValue(v)) continue;
              for (const [h, size] of v.c) if (!chunks.has(h)) chunks.set(h, { repo: c.repo, commit: c.id, size });
            }
          }
          return true;
        });
      } catch (err) {
        report.errors.push({ repo: c.repo, commit: c.id, message: err instanceof Error ? err.message : String(err) });
      }
    }
    const hashes = [...chunks.keys()];
    for (let i = 0; i < hashes.length; i += 500) {
      const batch = hashes.slice(i, i + 500);
      const rows = await db.selectFrom('chunks').selectAll().where('hash', 'in', batch).execute();
      const byHash = new Map(rows.map((r) => [r.hash, r]));
      for (const h of batch) {
        const owner = chunks.get(h)!;
        const loc = byHash.get(h);
        report.chunksChecked++;
        if (loc === undefined) {
          report.errors.push({ repo: owner.repo, commit: owner.commit, message: `chunk ${h} is not in the chunk index` });
          continue;
        }
        try {
          const bytes = await this.ctx.objects.read({ pack: loc.pack, offset: loc.offset, length: loc.length });
          report.bytesChecked += bytes.length;
          const actual = createHash('sha256').update(bytes).digest('hex');
          if (actual !== h) throw new SluiceError('PFS_CORRUPT', `chunk ${h} in pack ${loc.pack} hashes to ${actual}`);
          if (bytes.length !== owner.size) throw new SluiceError('PFS_CORRUPT', `chunk ${h} is ${bytes.length} bytes, the tree says ${owner.size}`);
        } catch (err) {
          report.errors.push({ repo: owner.repo, commit: owner.commit, message: err instanceof Error ? err.message : String(err) });
        }
      }
    }
    return report;
  }
}
