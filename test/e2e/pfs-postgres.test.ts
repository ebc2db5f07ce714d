/**
 * The versioned file store's suite (pfs-suite.ts) on PostgreSQL metadata, in a fresh schema of
 * the local server (SLUICE_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432/test).
 * Skipped when PostgreSQL is unreachable, unless REQUIRE_SERVICES=1 (CI), which fails instead.
 */
import { after, it } from 'node:test';
import { dropPostgres, freshPostgres, startTestDaemon } from './harness.js';
import { pfsSuite } from './pfs-suite.js';

const url = await freshPostgres();
if (url === undefined) {
  it('runs the file store suite on PostgreSQL', { skip: 'PostgreSQL is unreachable (set REQUIRE_SERVICES=1 to fail instead)' }, () => undefined);
} else {
  pfsSuite('PostgreSQL', () => startTestDaemon(undefined, { metadata: url }));
  after(async () => dropPostgres(url));
}
