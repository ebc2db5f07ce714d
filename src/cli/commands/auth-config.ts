/**
 * What the `auth` commands share: storing a token as the active context's `session_token` (as
 * pachctl's `WritePachTokenToConfig` does), reading a token from stdin, and Go-style durations
 * for `--ttl` ("30s", "1h2m3s").
 */
import type { CliContext } from '../context.js';
import { configPath, readConfig, SluiceError, writeConfig, type ContextConfig } from '../../client/index.js';

/** Stores `token` in the active context (made, as `default`, when there is none). */
export function storeSessionToken(ctx: CliContext, token: string): void {
  const path = configPath(ctx.env);
  const cfg = readConfig(path) ?? {};
  const v2 = cfg.v2 ?? {};
  const name = v2.active_context !== undefined && v2.active_context !== '' ? v2.active_context : 'default';
  const contexts: Record<string, ContextConfig> = { ...(v2.contexts ?? {}) };
  contexts[name] = { ...(contexts[name] ?? {}), session_token: token };
  writeConfig(path, { ...cfg, v2: { ...v2, contexts, active_context: name } });
}

/** The first non-empty line of stdin, trimmed. */
export async function readTokenFromStdin(ctx: CliContext): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of ctx.io.stdin) {
    chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
    if (Buffer.concat(chunks).toString('utf8').trim().includes('\n')) break;
  }
  const line = Buffer.concat(chunks).toString('utf8').split('\n').map((l) => l.trim()).find((l) => l !== '');
  if (line === undefined) throw new SluiceError('INVALID_ARGUMENT', 'no token on stdin');
  return line;
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("1h", "1h2m3s", "1.5h") in seconds. */
export function parseGoDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let ms = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    ms += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 0);
    pos = re.lastIndex;
  }
  if (text === '' || pos !== text.length) throw new SluiceError('INVALID_ARGUMENT', `could not parse duration ${JSON.stringify(text)}: use a Go duration such as 30s, 1h or 1h2m3s`);
  if (ms <= 0) throw new SluiceError('INVALID_ARGUMENT', `duration ${JSON.stringify(text)} must be positive`);
  return ms / 1000;
}
