/**
 * The versioned file store's suite (pfs-suite.ts) on a daemon whose objects live in an S3 bucket:
 * s3rver (a real S3 HTTP server from npm, file-backed) started here on a free port, a fresh key
 * prefix per daemon, SQLite metadata.
 */
import { after } from 'node:test';
import { startTestDaemon } from './harness.js';
import { pfsSuite } from './pfs-suite.js';
import { startS3Server } from '../support/s3-server.js';

const s3 = await startS3Server();
// The daemon reads endpoint, region, credentials and path-style the way the AWS SDK does: from the environment.
for (const [k, v] of Object.entries(s3.env)) process.env[k] = v;
pfsSuite('S3 objects (s3rver)', () => startTestDaemon(undefined, { objects: s3.freshUrl('pfs') }));
after(async () => s3.stop());
