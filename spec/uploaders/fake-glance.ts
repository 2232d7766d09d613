import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { type FakeServer, type SeenRequest, sendJson, startFakeServer } from './fake-server.ts';

export interface FakeImage {
  [key: string]: unknown;
  id: string;
  status: string;
}

/** A one-off answer that replaces the normal one for the next request matching method and path. */
export interface Override {
  readonly method: string;
  readonly path: RegExp;
  readonly respond: (seen: SeenRequest, res: ServerResponse) => void;
}

/**
 * An in-memory Glance v2 for unit tests: create, PUT file, stage + import, GET, DELETE, with
 * version discovery at the root. `overrides` script failures; `tokens` (when set) are the
 * only X-Auth-Token values it accepts.
 */
export class FakeGlance {
  readonly images = new Map<string, FakeImage>();
  readonly overrides: Override[] = [];
  tokens: Set<string> | undefined;
  importMethods = 'glance-direct,web-download';
  /** Lies about the checksum it computed (for verification tests). */
  corruptChecksum = false;
  /** Lies about the sha512 it computed. */
  corruptOsHash = false;
  /** Computes no checksum at all (checksum, os_hash_algo and os_hash_value stay null), as some clouds' stores do. */
  computesNoChecksums = false;
  /** Answers with `connection: close`, so no client keeps a connection to it. */
  closesConnections = false;
  server!: FakeServer;

  static async start(prefix = ''): Promise<FakeGlance> {
    const glance = new FakeGlance();
    glance.server = await startFakeServer((seen, res) => glance.handle(seen, res, prefix));
    return glance;
  }

  get url(): string {
    return this.server.url;
  }

  get requests(): SeenRequest[] {
    return this.server.requests;
  }

  fail(method: string, path: RegExp, status: number, message: string): void {
    this.overrides.push({ method, path, respond: (_seen, res) => sendJson(res, status, { message, code: String(status), title: 'scripted' }) });
  }

  calls(method: string, path: RegExp): SeenRequest[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }

  private handle(seen: SeenRequest, res: ServerResponse, prefix: string): void {
    if (this.closesConnections) res.setHeader('connection', 'close');
    const override = this.overrides.findIndex((o) => o.method === seen.method && o.path.test(seen.path));
    if (override >= 0) {
      this.overrides.splice(override, 1)[0]!.respond(seen, res);
      return;
    }
    if (seen.method === 'GET' && (seen.path === '/' || seen.path === `${prefix}/`)) {
      sendJson(res, 300, { versions: [{ id: 'v2.15', status: 'CURRENT', links: [{ rel: 'self', href: 'http://glance.internal:9292/v2/' }] }] });
      return;
    }
    if (this.tokens && !this.tokens.has(String(seen.headers['x-auth-token']))) {
      sendJson(res, 401, { message: 'This server could not verify that you are authorized<br /><br />', code: '401 Unauthorized' });
      return;
    }
    const path = seen.path.startsWith(prefix) ? seen.path.slice(prefix.length) : seen.path;
    const match = /^\/v2\/images(?:\/([^/]+))?(?:\/(file|stage|import))?$/.exec(path);
    if (!match) return sendJson(res, 404, { message: `no route ${seen.method} ${path}` });
    const [, id, action] = match;
    const image = id ? this.images.get(id) : undefined;
    if (id && !image) return sendJson(res, 404, { message: `No image found with ID ${id}` });
    if (seen.method === 'POST' && !id) return this.create(seen, res);
    if (seen.method === 'GET' && image && !action) return sendJson(res, 200, image);
    if (seen.method === 'DELETE' && image && !action) {
      this.images.delete(image.id);
      res.writeHead(204).end();
      return;
    }
    if (seen.method === 'PUT' && image && (action === 'file' || action === 'stage')) {
      if (image.status !== 'queued') return sendJson(res, 409, { message: `Image status transition from ${image.status} to saving is not allowed` });
      image.staged = action === 'stage';
      this.store(image, seen.body, action === 'file' ? 'active' : 'uploading');
      res.writeHead(204).end();
      return;
    }
    if (seen.method === 'POST' && image && action === 'import') {
      image.status = 'active';
      sendJson(res, 202, {});
      return;
    }
    sendJson(res, 405, { message: `${seen.method} not allowed` });
  }

  private create(seen: SeenRequest, res: ServerResponse): void {
    const fields = JSON.parse(seen.body.toString()) as Record<string, unknown>;
    const id = String(fields.id);
    if (this.images.has(id)) return sendJson(res, 409, { message: `Image ID ${id} already exists!` });
    const image: FakeImage = { ...fields, id, status: 'queued', size: null, checksum: null, os_hash_algo: null, os_hash_value: null };
    this.images.set(id, image);
    sendJson(res, 201, image, { 'openstack-image-import-methods': this.importMethods });
  }

  private store(image: FakeImage, data: Buffer, status: string): void {
    image.size = data.length;
    image.status = status;
    if (this.computesNoChecksums) return;
    image.checksum = this.corruptChecksum ? '0'.repeat(32) : createHash('md5').update(data).digest('hex');
    image.os_hash_algo = 'sha512';
    image.os_hash_value = this.corruptOsHash ? 'f'.repeat(128) : createHash('sha512').update(data).digest('hex');
  }
}
