/**
 * Builds the web console into dist/console: esbuild bundles src/console/main.tsx (Preact, dagre
 * and the SDK's browser entry) into one minified app.js, and index.html and app.css are copied
 * beside it. The daemon serves that folder at `/` (src/server/routes/console.ts). Run by
 * `npm run build`, after tsc has type-checked the console for the browser.
 */
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../src/lib/version.js';

const root = packageRoot();
const src = join(root, 'src', 'console');
const out = join(root, 'dist', 'console');

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const result = await build({
  entryPoints: [join(src, 'main.tsx')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outfile: join(out, 'app.js'),
  metafile: true,
  logLevel: 'warning',
});
await copyFile(join(src, 'index.html'), join(out, 'index.html'));
await copyFile(join(src, 'app.css'), join(out, 'app.css'));
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
process.stderr.write(`console built into ${out} (${Math.round(bytes / 1024)} KiB with source map)\n`);
