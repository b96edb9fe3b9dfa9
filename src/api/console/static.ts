/**
 * The built front end (dist/console, made by scripts/build-console.mjs at build time): every
 * /console page path answers index.html (the page routes itself), assets by exact name only.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { publicRoute } from '../route-auth.js';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

// Chromium lets the page open the shell WebSocket on the gateway's port (another origin).
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

export function defaultAssetsDir(): string {
  // dist/src/api/console/static.js -> dist/console
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../console');
}

export function registerStatic(app: FastifyInstance, dir: string): void {
  const page = async (_req: unknown, reply: import('fastify').FastifyReply) => {
    const html = await fs.readFile(path.join(dir, 'index.html')).catch(() => undefined);
    if (!html) return reply.code(503).type('text/plain').send('The console is not built (npm run build).');
    return reply
      .header('content-security-policy', CSP)
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'no-referrer')
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-store')
      .type(TYPES['.html'] as string)
      .send(html);
  };
  app.get('/console', publicRoute, page);
  app.get('/console/', publicRoute, page);
  app.get('/console/assets/:file', publicRoute, async (req, reply) => {
    const file = (req.params as { file: string }).file;
    const type = TYPES[path.extname(file)];
    if (!/^[A-Za-z0-9._-]+$/.test(file) || !type) return reply.code(404).type('text/plain').send('not found');
    const body = await fs.readFile(path.join(dir, file)).catch(() => undefined);
    if (!body) return reply.code(404).type('text/plain').send('not found');
    return reply.header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache').type(type).send(body);
  });
}
