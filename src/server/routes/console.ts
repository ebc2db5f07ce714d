/**
 * The web console's static files, served by the daemon itself: `GET /` is the console's page
 * and `GET /console/<file>` its script, style and source map, read from the folder that
 * `npm run build` fills (dist/console). Only the files found there at start-up are served
 * (no path from the URL reaches the file system). Both routes are public in the route table:
 * the files hold no data; every call the console makes goes through the API with the user's
 * token. Without a built console `/` says how to build it.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export function consoleRoutes(dir: string): FastifyPluginAsync {
  return async (app) => {
    let files: Set<string>;
    try {
      files = new Set((await readdir(dir)).filter((f) => TYPES[extname(f)] !== undefined));
    } catch {
      files = new Set();
    }
    const send = async (name: string): Promise<{ type: string; data: Buffer } | undefined> => {
      if (!files.has(name)) return undefined;
      return { type: TYPES[extname(name)] ?? 'application/octet-stream', data: await readFile(join(dir, name)) };
    };
    app.get('/', async (_req, reply) => {
      const f = await send('index.html');
      if (f === undefined) {
        return reply.status(404).type('text/plain; charset=utf-8').send(`The web console is not built (no ${join(dir, 'index.html')}): run \`npm run build\`. The API is at /api/v1.\n`);
      }
      return reply.type(f.type).header('cache-control', 'no-cache').send(f.data);
    });
    app.get<{ Params: { file: string } }>('/console/:file', async (req, reply) => {
      const f = await send(req.params.file);
      if (f === undefined) return reply.status(404).type('text/plain; charset=utf-8').send(`no console file ${req.params.file}\n`);
      return reply.type(f.type).header('cache-control', 'no-cache').send(f.data);
    });
  };
}
