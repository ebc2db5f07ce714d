/**
 * `node dist/bench/lib/s3-server-main.js DIR`: s3rver (test/support/s3-server.ts) in a process of
 * its own, so that the S3 server does not share the benchmark's event loop. Prints one line,
 * `s3rver listening on ENDPOINT bucket BUCKET`, then serves until SIGTERM.
 */
import { startS3Server } from '../../test/support/s3-server.js';

const dir = process.argv[2];
const server = await startS3Server(dir !== undefined ? { dir } : {});
process.stdout.write(`s3rver listening on ${server.endpoint} bucket ${server.bucket}\n`);
process.once('SIGTERM', () => {
  void server.stop().then(() => process.exit(0));
});
