/**
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes) and says where the time went: the
 * functions with the most self time (samples whose top frame they are), and the Sluice functions
 * with the most total time (samples with them anywhere on the stack). Frames are named
 * `function (place)`, where the place is a Sluice source file (`src/pfs/uploads.ts`), a package
 * (`kysely`), or node's own code (`node:internal/...`).
 */
import { readFile } from 'node:fs/promises';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FrameTime {
  frame: string;
  ms: number;
  /** Share of the busy (non-idle) time. */
  share: number;
}

export interface ProfileSummary {
  /** Wall time covered by the profile. */
  totalMs: number;
  /** Time not idle: running JS, native code, GC. */
  busyMs: number;
  gcMs: number;
  topSelf: FrameTime[];
  /** Sluice's own functions by inclusive time. */
  topOwnTotal: FrameTime[];
}

const META = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** A short, stable place for a script URL. */
function place(url: string): string {
  if (url === '') return 'native';
  if (url.startsWith('node:')) return url;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1] ?? ''}` : rest[0] ?? url;
  }
  // Compiled files sit under the build's out-dir (`dist/` or a private one): name the source.
  const built = /\/\.?dist\/((?:src|bench|test)\/.+)\.js$/.exec(url) ?? /\/((?:src|bench|test)\/.+)\.js$/.exec(url);
  if (built !== null) return `${built[1]}.ts`;
  return url.replace(/^file:\/\//, '');
}

function isOwn(url: string): boolean {
  return !url.includes('/node_modules/') && /\/src\/.+\.js$/.test(url);
}

function frameName(f: CallFrame): string {
  if (META.has(f.functionName)) return f.functionName;
  return `${f.functionName || '(anonymous)'} (${place(f.url)})`;
}

export async function summarizeProfile(file: string, top = 15): Promise<ProfileSummary> {
  const prof = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let idle = 0;
  let gc = 0;
  let all = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute the next delta to it, as DevTools does.
    const dt = (prof.timeDeltas[i + 1] ?? 0) / 1000;
    const node = byId.get(prof.samples[i]!);
    if (node === undefined) continue;
    all += dt;
    const fn = node.callFrame.functionName;
    if (fn === '(idle)') {
      idle += dt;
      continue;
    }
    if (fn === '(garbage collector)') gc += dt;
    const name = frameName(node.callFrame);
    self.set(name, (self.get(name) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      if (!isOwn(f.url)) continue;
      const n = frameName(f);
      if (seen.has(n)) continue;
      seen.add(n);
      total.set(n, (total.get(n) ?? 0) + dt);
    }
  }
  const busy = all - idle;
  const rank = (m: Map<string, number>): FrameTime[] =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([frame, ms]) => ({ frame, ms, share: busy > 0 ? ms / busy : 0 }));
  return { totalMs: all, busyMs: busy, gcMs: gc, topSelf: rank(self), topOwnTotal: rank(total) };
}

/** The summary as Markdown: two small tables. */
export function profileMarkdown(label: string, s: ProfileSummary): string {
  const rows = (list: FrameTime[]): string =>
    list.map((f) => `| ${f.frame.replace(/\|/g, '\\|')} | ${f.ms.toFixed(0)} | ${(f.share * 100).toFixed(1)}% |`).join('\n');
  return [
    `**${label}**: ${(s.totalMs / 1000).toFixed(1)} s profiled, ${(s.busyMs / 1000).toFixed(1)} s busy (not idle), of which GC ${(s.gcMs / 1000).toFixed(1)} s.`,
    '',
    '| self time: function (where) | ms | % of busy |',
    '|---|---:|---:|',
    rows(s.topSelf),
    '',
    '| total time (incl. callees), Sluice functions | ms | % of busy |',
    '|---|---:|---:|',
    rows(s.topOwnTotal),
  ].join('\n');
}
