import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BuilderConfig, ListenAddress } from '../config/schema.ts';
import { isImageId } from '../images/image-id.ts';
import { StateError } from '../scheduler/state-errors.ts';
import type { Wait } from '../scheduler/actions.ts';
import type { StateStore } from '../scheduler/state-store.ts';
import type { Logger } from '../util/log.ts';
import { ApiError } from './api-error.ts';
import { authorizeWrite } from './auth.ts';
import { type View, dibImageList, imageList, imageStatus } from './views.ts';

/** Write bodies are a few names; anything past this is refused unread. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * A GET path served beside the JSON/text API, writing its own reply: the dashboard's page, its
 * assets and event stream, and /metrics. It may throw an ApiError before it writes anything.
 */
export type PageRoute = (raw: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface ApiServerOptions {
  readonly store: StateStore;
  /** The scheduler's config; a function follows SIGHUP reloads. */
  readonly config: BuilderConfig | (() => BuilderConfig);
  readonly listen: ListenAddress;
  /** `[scheduler] api-token-file`; undefined refuses every write. A function follows reloads. */
  readonly tokenFile: string | undefined | (() => string | undefined);
  /** True once the first reconciliation is done: GET /ready answers 200 from then on. */
  readonly isReady: () => boolean;
  readonly logger: Logger;
  readonly clock?: () => number;
  /** After each write that changed the state: the scheduler plans again now, not at the next interval. */
  readonly onWrite?: () => void;
  /** What the last pass left waiting, and why (paused, backoff, no-builder, ...): shown by image-status. */
  readonly waits?: () => readonly Wait[];
  /** Extra GET paths, matched exactly. */
  readonly pages?: ReadonlyMap<string, PageRoute>;
}

export interface ApiServer {
  /** Where it listens (the port the system chose when `listen.port` was 0). */
  readonly address: ListenAddress;
  readonly url: string;
  close(): Promise<void>;
}

type Method = 'GET' | 'POST' | 'DELETE';

interface Request {
  readonly method: string;
  readonly path: string;
  readonly text: boolean;
  readonly raw: IncomingMessage;
}

interface Reply {
  readonly status: number;
  readonly body: View;
}

/** A small reply: its JSON and its one line of text. */
const reply = (status: number, json: unknown, text: string): Reply => ({ status, body: { json: () => json, text: () => text } });

/** The body is text when the client asks for text/plain before (or without) JSON. */
function wantsText(accept: string | undefined): boolean {
  const types = (accept ?? '').split(',').map((t) => t.split(';')[0]!.trim().toLowerCase());
  const text = types.indexOf('text/plain');
  const json = types.indexOf('application/json');
  return text >= 0 && (json < 0 || text < json);
}

function readBody(raw: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(raw.headers['content-length']);
    if (declared > MAX_BODY_BYTES) return reject(new ApiError('API_BODY_TOO_LARGE', `the body is ${declared} bytes; at most ${MAX_BODY_BYTES} are read`));
    const chunks: Buffer[] = [];
    let size = 0;
    raw.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        raw.removeAllListeners('data');
        raw.pause();
        reject(new ApiError('API_BODY_TOO_LARGE', `the body is larger than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    raw.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    raw.on('error', reject);
  });
}

/** A write's body: a JSON object (an empty body is `{}`). */
async function jsonBody(raw: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(raw);
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ApiError('API_BAD_JSON', `the body is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ApiError('API_BAD_JSON', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

function nameField(body: Record<string, unknown>, key: string, required: true): string;
function nameField(body: Record<string, unknown>, key: string, required: false): string | undefined;
function nameField(body: Record<string, unknown>, key: string, required: boolean): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) {
    if (required) throw new ApiError('API_BAD_REQUEST', `"${key}" is required`);
    return undefined;
  }
  if (typeof value !== 'string') throw new ApiError('API_BAD_REQUEST', `"${key}" must be a string`);
  if (!isImageId(value)) throw new ApiError('API_BAD_ID', `"${key}" must be letters, digits, ".", "_" and "-" (at most 128, not starting with "."), got ${JSON.stringify(String(value).slice(0, 140))}`);
  return value;
}

function pathId(segment: string): string {
  let id: string;
  try {
    id = decodeURIComponent(segment);
  } catch {
    throw new ApiError('API_BAD_ID', 'the id in the path is not valid percent-encoding');
  }
  if (!isImageId(id)) throw new ApiError('API_BAD_ID', `not an id (letters, digits, ".", "_" and "-", at most 128, not starting with "."): ${JSON.stringify(String(id).slice(0, 140))}`);
  return id;
}

/** The store's refusals, as the API's codes. */
function fromState(err: unknown): never {
  if (err instanceof StateError && err.code === 'STATE_UNKNOWN_RECORD') throw new ApiError('API_UNKNOWN_RECORD', err.message, { cause: err });
  if (err instanceof StateError && err.code === 'STATE_CONFLICT') throw new ApiError('API_CONFLICT', err.message, { cause: err });
  throw err;
}

const READS: Readonly<Record<string, true>> = { '/image-list': true, '/dib-image-list': true, '/image-status': true, '/ready': true };
const WRITES: Readonly<Record<string, true>> = { '/image-pause': true, '/image-unpause': true, '/image-build-request': true };

/**
 * The scheduler's HTTP API (node:http: the same in Bun and in the compiled binary). nodepool's
 * read paths; writes need the bearer token of `[scheduler] api-token-file`.
 */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { store, logger } = options;
  const clock = options.clock ?? Date.now;
  const config = (): BuilderConfig => (typeof options.config === 'function' ? options.config() : options.config);
  const tokenFile = (): string | undefined => (typeof options.tokenFile === 'function' ? options.tokenFile() : options.tokenFile);

  const view = (v: View): Reply => ({ status: 200, body: v });

  function read(path: string): Reply {
    const now = clock();
    switch (path) {
      case '/image-list':
        return view(imageList(store.listedUploads(), now));
      case '/dib-image-list':
        return view(dibImageList(store.listedBuilds(), now));
      case '/image-status':
        return view(imageStatus(store.snapshot(), config(), now, options.waits?.() ?? []));
      default: {
        if (!options.isReady()) throw new ApiError('API_NOT_READY', 'the scheduler has not finished its first reconciliation');
        return reply(200, { ready: true }, 'ready\n');
      }
    }
  }

  function knownDiskimage(name: string): void {
    if (!config().diskimages.some((d) => d.name === name)) throw new ApiError('API_UNKNOWN_NAME', `no diskimage ${JSON.stringify(name)} in the scheduler's config`);
  }

  function knownProvider(name: string | undefined): void {
    if (name !== undefined && !config().providers.some((p) => p.name === name)) throw new ApiError('API_UNKNOWN_NAME', `no provider ${JSON.stringify(name)} in the scheduler's config`);
  }

  async function write(request: Request, method: Method): Promise<Reply> {
    authorizeWrite(tokenFile(), request.raw.headers.authorization);
    const now = clock();
    if (method === 'DELETE') {
      const [, kind, segment] = /^\/(uploads|builds)\/(.*)$/.exec(request.path)!;
      const id = pathId(segment!);
      try {
        if (kind === 'uploads') {
          const upload = store.requestUploadDelete(id, now);
          logger.info(`api: upload ${id} marked for deletion by an operator`);
          return reply(202, { 'upload-id': upload.id, state: upload.state }, `upload ${upload.id}: ${upload.state}\n`);
        }
        const build = store.requestBuildDelete(id, now);
        logger.info(`api: build ${id} marked for deletion by an operator`);
        return reply(202, { 'build-id': build.id, state: build.state }, `build ${build.id}: ${build.state}\n`);
      } catch (err) {
        fromState(err);
      }
    }
    const body = await jsonBody(request.raw);
    const image = nameField(body, 'image', true);
    knownDiskimage(image);
    const where = (provider: string | undefined): string => (provider === undefined ? image : `${image} on ${provider}`);
    switch (request.path) {
      case '/image-pause': {
        const provider = nameField(body, 'provider', false);
        knownProvider(provider);
        store.pause(image, provider, now);
        logger.info(`api: ${where(provider)} paused by an operator`);
        return reply(200, { image, provider: provider ?? null, paused: true }, `${where(provider)}: paused\n`);
      }
      case '/image-unpause': {
        const provider = nameField(body, 'provider', false);
        knownProvider(provider);
        const was = store.unpause(image, provider);
        logger.info(`api: ${where(provider)} unpaused by an operator`);
        return reply(200, { image, provider: provider ?? null, paused: false, 'was-paused': was }, `${where(provider)}: ${was ? 'unpaused' : 'was not paused'}\n`);
      }
      default: {
        store.requestBuild(image, now);
        logger.info(`api: a build of ${image} requested by an operator`);
        return reply(202, { image, 'requested-at': new Date(now).toISOString() }, `${image}: build requested\n`);
      }
    }
  }

  function route(request: Request): Promise<Reply> | Reply {
    const { path, method } = request;
    const allowed: Method | undefined = READS[path] ? 'GET' : WRITES[path] ? 'POST' : /^\/(uploads|builds)\/./.test(path) ? 'DELETE' : undefined;
    if (!allowed) throw new ApiError('API_NOT_FOUND', `no such path: ${JSON.stringify(path.slice(0, 200))}`);
    if (method !== allowed) throw new ApiError('API_METHOD_NOT_ALLOWED', `${path.split('/').slice(0, 2).join('/')}${allowed === 'DELETE' ? '/<id>' : ''} takes ${allowed}, not ${method.slice(0, 20)}`);
    if (allowed === 'GET') return read(path);
    return write(request, allowed).then((answer) => {
      options.onWrite?.();
      return answer;
    });
  }

  function send(res: ServerResponse, request: Request, answer: Reply, headers: Record<string, string> = {}): void {
    const body = request.text ? answer.body.text() : `${answer.body.jsonText?.() ?? JSON.stringify(answer.body.json())}\n`;
    res.writeHead(answer.status, { 'content-type': request.text ? 'text/plain; charset=utf-8' : 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(body);
  }

  async function handle(raw: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = raw.url ?? '/';
    const request: Request = { method: raw.method ?? 'GET', path: url.split('?')[0]!, text: wantsText(raw.headers.accept), raw };
    try {
      const page = options.pages?.get(request.path);
      if (!page) return send(res, request, await route(request));
      if (request.method !== 'GET' && request.method !== 'HEAD') throw new ApiError('API_METHOD_NOT_ALLOWED', `${request.path} takes GET, not ${request.method.slice(0, 20)}`);
      await page(raw, res);
    } catch (err) {
      const error = err instanceof ApiError ? err : new ApiError('API_INTERNAL', `internal error: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      if (error.code === 'API_INTERNAL') logger.error(`api: ${request.method.slice(0, 20)} ${request.path.slice(0, 200)}: ${error.message}`);
      const headers: Record<string, string> = {};
      // The rest of a refused body is not read: the connection cannot carry another request.
      if (error.code === 'API_BODY_TOO_LARGE') headers.connection = 'close';
      if (error.code === 'API_UNAUTHORIZED') headers['www-authenticate'] = 'Bearer';
      const json = { error: { code: error.code, message: error.message } };
      if (res.headersSent) return void res.destroy();
      send(res, { ...request, text: false }, reply(error.status, json, ''), headers);
    }
  }

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const address = { host: options.listen.host, port: bound.port };
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return {
    address,
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
