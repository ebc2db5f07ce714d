/**
 * A spout's marker (reference §1.7): which archive entries are marker entries, and fetching the
 * latest marker from the output repo's `marker` branch into the scratch `pfs/` folder, where
 * user code reads it as `/pfs/<marker>` (a file or a folder).
 *
 * Promises: the marker is read at the branch's head commit as one tar stream and written only
 * under `pfs/<marker>`; a branch that is missing, has no head, or whose head holds no marker
 * (after `update pipeline --reprocess` emptied it) means "no marker yet", and nothing is written.
 * Anything else (the daemon unreachable, a refused read) is thrown for the caller to retry.
 */
import { mkdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BranchInfo } from '../../api/types.js';
import { isSluiceError, SluiceError } from '../../errors/index.js';
import { cleanPath } from '../../lib/paths.js';
import { readArchiveEvents } from './archive-reader.js';

/** The branch of the output repo that holds a spout's marker (Pachyderm's `SpoutMarkerBranch`). */
export const MARKER_BRANCH = 'marker';

/** The reads `downloadMarker` needs (the SDK's `Client` has them). */
export interface MarkerSource {
  inspectBranch(repo: string, name: string): Promise<BranchInfo>;
  getTar(repo: string, ref: string, path: string): Promise<AsyncIterable<Uint8Array>>;
}

/** The marker's repo path (`/mymark`) for a spec's `spout.marker`, or undefined when there is none. */
export function markerPath(marker: string | undefined): string | undefined {
  if (marker === undefined || marker === '') return undefined;
  return cleanPath(marker);
}

/** True when an archive entry at `path` is (part of) the marker at `marker` (both clean). */
export function isMarkerEntry(path: string, marker: string | undefined): boolean {
  return marker !== undefined && (path === marker || path.startsWith(`${marker}/`));
}

export interface DownloadedMarker {
  /** The marker branch's head commit the marker was read at. */
  commit: string;
  files: number;
  bytes: number;
}

/**
 * Writes the latest marker of `repo` under `pfsDir` (at `pfsDir/<marker>`); null when there is
 * none yet.
 */
export async function downloadMarker(client: MarkerSource, repo: string, marker: string, pfsDir: string): Promise<DownloadedMarker | null> {
  let head: string | null;
  try {
    head = (await client.inspectBranch(repo, MARKER_BRANCH)).head;
  } catch (err) {
    if (isSluiceError(err, 'PFS_BRANCH_NOT_FOUND')) return null;
    throw err;
  }
  if (head === null) return null;
  let tar: AsyncIterable<Uint8Array>;
  try {
    tar = await client.getTar(repo, head, '/');
  } catch (err) {
    // An emptied branch (update --reprocess) has a head with no files at all.
    if (isSluiceError(err, 'PFS_FILE_NOT_FOUND')) return null;
    throw err;
  }
  const got: DownloadedMarker = { commit: head, files: 0, bytes: 0 };
  let file: Awaited<ReturnType<typeof open>> | undefined;
  try {
    for await (const ev of readArchiveEvents(tar)) {
      switch (ev.type) {
        case 'entry-start': {
          if (ev.entry.type !== 'file' || !isMarkerEntry(ev.entry.path, marker)) break;
          const host = join(pfsDir, ev.entry.path);
          await mkdir(dirname(host), { recursive: true });
          file = await open(host, 'w', 0o644);
          got.files++;
          break;
        }
        case 'entry-data':
          if (file !== undefined) {
            await file.write(ev.chunk);
            got.bytes += ev.chunk.length;
          }
          break;
        case 'entry-end':
          await file?.close();
          file = undefined;
          break;
        case 'archive-error':
          throw new SluiceError('INTERNAL', `the marker of ${repo}@${MARKER_BRANCH} (commit ${head}) could not be read: ${ev.error.message}`, { cause: ev.error });
        default:
          break;
      }
    }
  } finally {
    await file?.close();
  }
  return got.files === 0 ? null : got;
}
