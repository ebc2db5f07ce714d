/**
 * The console's session: one SDK client (the browser entry of src/client, over fetch), the
 * token the user typed (kept in sessionStorage only: gone when the tab closes), and what that
 * token may do, read once from `accessLevels()` so pages can hide what it may not see or do.
 */
import { BrowserClient, isSluiceError, type AccessLevelsResponse, type RepoRole } from '../client/browser.js';

const KEY = 'sluice.token';

export interface Session {
  client: BrowserClient;
  access: AccessLevelsResponse;
  /** The principal of the token, when auth is active. */
  principal: string | undefined;
  /** May this session read the repo (or the pipeline of that name)? */
  canRead(repo: string): boolean;
  /** May it write the repo (put files, stop jobs)? */
  canWrite(repo: string): boolean;
  /** May it own the repo (stop/start/update/delete the pipeline of that name)? */
  canOwn(repo: string): boolean;
}

const RANK: Record<RepoRole, number> = { repoReader: 1, repoWriter: 2, repoOwner: 3 };

export function storedToken(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function storeToken(token: string | undefined): void {
  if (token === undefined) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, token);
}

export type OpenResult = { kind: 'ok'; session: Session } | { kind: 'needToken'; message: string };

/** Opens a session with the stored token (or none); asks for one when auth wants it. */
export async function openSession(token = storedToken()): Promise<OpenResult> {
  const client = new BrowserClient(token === undefined ? { baseUrl: location.origin } : { baseUrl: location.origin, token });
  let access: AccessLevelsResponse;
  try {
    access = await client.accessLevels();
  } catch (err) {
    if (isSluiceError(err) && (err.category === 'unauthenticated' || err.category === 'forbidden')) {
      return { kind: 'needToken', message: token === undefined ? 'Auth is active: enter a token.' : err.message };
    }
    throw err;
  }
  let principal: string | undefined;
  if (access.active) principal = (await client.whoAmI()).principal;
  const has = (repo: string, need: RepoRole): boolean => {
    if (!access.active || access.clusterAdmin) return true;
    const role = access.repos[repo];
    return role !== undefined && RANK[role] >= RANK[need];
  };
  return {
    kind: 'ok',
    session: {
      client,
      access,
      principal,
      canRead: (r) => has(r, 'repoReader'),
      canWrite: (r) => has(r, 'repoWriter'),
      canOwn: (r) => has(r, 'repoOwner'),
    },
  };
}
