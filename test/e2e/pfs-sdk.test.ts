/**
 * The versioned file store end to end through the SDK, on the embedded default (SQLite + a local
 * folder). The suite itself is in pfs-suite.ts.
 */
import { startTestDaemon } from './harness.js';
import { pfsSuite } from './pfs-suite.js';

pfsSuite('SQLite', () => startTestDaemon());
