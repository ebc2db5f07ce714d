/**
 * The DAG: repos and pipelines laid out left to right by dagre, an edge from each input repo
 * to its pipeline and from each pipeline to its output repo. Spouts are marked; each node shows
 * its state and counts. The page polls the SDK every second (while the tab is visible), so
 * commits and jobs show up without a reload. Clicking a node opens its page.
 */
import dagre from '@dagrejs/dagre';
import { useRef } from 'preact/hooks';
import type { CommitInfo, PipelineInfo, RepoInfo } from '../../client/browser.js';
import type { Session } from '../session.js';
import { usePoll, useNow } from '../hooks.js';
import { href } from '../router.js';
import { ago, bytes, short } from '../format.js';
import { ErrorBox } from '../widgets.js';

interface DagData {
  repos: RepoInfo[];
  pipelines: PipelineInfo[];
  heads: Map<string, CommitInfo | undefined>;
}

/** The pfs and cron repos a pipeline's (normalized) input reads. */
export function inputReposOf(spec: Record<string, unknown>): string[] {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach(walk);
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    for (const [k, child] of Object.entries(v)) {
      if ((k === 'pfs' || k === 'cron') && typeof child === 'object' && child !== null) {
        const repo = (child as { repo?: unknown }).repo;
        if (typeof repo === 'string') out.add(repo);
      } else walk(child);
    }
  };
  walk(spec.input);
  return [...out];
}

/** The state a pipeline node shows: paused, crashing (with reason), failed last job, or its own. */
export function pipelineStatus(p: PipelineInfo): { label: string; cls: string; reason: string } {
  if (p.stopped || p.state === 'paused') return { label: 'paused', cls: 'paused', reason: '' };
  if (p.state === 'crashing') return { label: 'crashing', cls: 'crashing', reason: p.reason };
  if (p.state === 'failure') return { label: 'failure', cls: 'failure', reason: p.reason };
  if (p.lastJobState === 'failure') return { label: 'last job failed', cls: 'failure', reason: p.reason };
  return { label: p.state, cls: p.state, reason: '' };
}

async function load(session: Session): Promise<DagData> {
  const c = session.client;
  const [repos, pipelines] = await Promise.all([c.listRepos(), c.listPipelines()]);
  const visibleRepos = repos.filter((r) => session.canRead(r.name));
  const visiblePipelines = pipelines.filter((p) => session.canRead(p.name));
  const heads = new Map<string, CommitInfo | undefined>();
  await Promise.all(
    visibleRepos.map(async (r) => {
      const [head] = await c.listCommits(r.name, { limit: 1 });
      heads.set(r.name, head);
    }),
  );
  return { repos: visibleRepos, pipelines: visiblePipelines, heads };
}

const NODE_W = 190;
const NODE_H = 64;

interface LaidNode {
  id: string;
  kind: 'repo' | 'pipeline';
  name: string;
  x: number;
  y: number;
}

function layout(d: DagData): { nodes: LaidNode[]; edges: Array<{ from: string; to: string; points: Array<{ x: number; y: number }> }>; width: number; height: number } {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 70, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const r of d.repos) g.setNode(`repo:${r.name}`, { width: NODE_W, height: NODE_H });
  for (const p of d.pipelines) {
    g.setNode(`pipeline:${p.name}`, { width: NODE_W, height: NODE_H });
    for (const input of inputReposOf(p.spec)) if (g.hasNode(`repo:${input}`)) g.setEdge(`repo:${input}`, `pipeline:${p.name}`);
    if (g.hasNode(`repo:${p.name}`)) g.setEdge(`pipeline:${p.name}`, `repo:${p.name}`);
  }
  dagre.layout(g);
  const nodes: LaidNode[] = g.nodes().map((id) => {
    const n = g.node(id);
    const [kind, ...rest] = id.split(':');
    return { id, kind: kind === 'pipeline' ? 'pipeline' : 'repo', name: rest.join(':'), x: n.x, y: n.y };
  });
  const edges = g.edges().map((e) => ({ from: e.v, to: e.w, points: g.edge(e).points ?? [] }));
  const graph = g.graph();
  return { nodes, edges, width: graph.width ?? 400, height: graph.height ?? 200 };
}

export function DagPage(props: { session: Session }) {
  const now = useNow(1000);
  const { data, error } = usePoll(async () => (document.hidden ? undefined : load(props.session)), 1000, []);
  const last = useLast(data);
  if (last === undefined) return error !== undefined ? <ErrorBox error={error} /> : <p class="muted">Loading…</p>;
  if (last.repos.length === 0 && last.pipelines.length === 0) {
    return (
      <div class="card empty">
        <ErrorBox error={error} />
        <p>No repos yet. Make one: <code>pachctl create repo images</code></p>
      </div>
    );
  }
  const laid = layout(last);
  const pipelines = new Map(last.pipelines.map((p) => [p.name, p]));
  const repos = new Map(last.repos.map((r) => [r.name, r]));
  return (
    <div class="dag card">
      <ErrorBox error={error} />
      <svg id="dag" width={laid.width} height={laid.height} viewBox={`0 0 ${laid.width} ${laid.height}`}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" fill="#8a94a6" />
          </marker>
        </defs>
        {laid.edges.map((e) => (
          <polyline
            key={`${e.from}->${e.to}`}
            class="edge"
            data-from={e.from}
            data-to={e.to}
            points={e.points.map((p) => `${p.x},${p.y}`).join(' ')}
            marker-end="url(#arrow)"
          />
        ))}
        {laid.nodes.map((n) => {
          const x = n.x - NODE_W / 2;
          const y = n.y - NODE_H / 2;
          if (n.kind === 'pipeline') {
            const p = pipelines.get(n.name);
            if (p === undefined) return null;
            const st = pipelineStatus(p);
            const spout = p.type === 'spout';
            const jc = p.jobCounts;
            return (
              <a key={n.id} href={href({ page: spout ? 'spout' : 'pipeline', name: p.name })} class="node-link">
                <g class={`node pipeline st-${st.cls}${spout ? ' spout' : ''}`} data-node={n.id} data-state={st.label} data-type={p.type}>
                  <title>{st.reason !== '' ? `${p.name}: ${st.label}: ${st.reason}` : `${p.name}: ${st.label}`}</title>
                  <rect x={x} y={y} width={NODE_W} height={NODE_H} rx={spout ? 28 : 8} />
                  <text x={x + 10} y={y + 18} class="name">{spout ? '◉ ' : '⚙ '}{truncate(p.name, 20)}</text>
                  <text x={x + 10} y={y + 35} class="state">{spout ? 'spout · ' : ''}{st.label}{st.reason !== '' ? `: ${truncate(st.reason, 16)}` : ''}</text>
                  <text x={x + 10} y={y + 52} class="counts">
                    jobs ✓{jc.success} ✗{jc.failure} ▶{jc.running + jc.starting + jc.created + jc.finishing} · w{p.workersRunning}/{p.parallelism}
                  </text>
                </g>
              </a>
            );
          }
          const r = repos.get(n.name);
          if (r === undefined) return null;
          const head = last.heads.get(r.name);
          return (
            <a key={n.id} href={href({ page: 'repo', name: r.name })} class="node-link">
              <g class="node repo" data-node={n.id} data-head={head?.id ?? ''}>
                <title>{r.name}</title>
                <rect x={x} y={y} width={NODE_W} height={NODE_H} rx={4} />
                <text x={x + 10} y={y + 18} class="name">▤ {truncate(r.name, 20)}</text>
                <text x={x + 10} y={y + 35} class="state">{bytes(r.sizeBytes)} · {r.branches.length} branch{r.branches.length === 1 ? '' : 'es'}</text>
                <text x={x + 10} y={y + 52} class="counts">
                  {head === undefined ? 'no commits' : `${short(head.id).slice(0, 8)} · ${ago(head.finished ?? head.started, now)}`}
                </text>
              </g>
            </a>
          );
        })}
      </svg>
      <p class="muted legend">▤ repo · ⚙ pipeline · ◉ spout (dashed) · updates every second</p>
    </div>
  );
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** Keeps the last defined value (a poll skipped while the tab is hidden answers undefined). */
function useLast<T>(v: T | undefined): T | undefined {
  const ref = useRef<T | undefined>(undefined);
  if (v !== undefined) ref.current = v;
  return ref.current;
}
