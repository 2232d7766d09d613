import { errorCode } from '../../errors/thrown.ts';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
// Not 'undici': inside Bun that name resolves to Bun's partial shim.
import { Agent, request } from 'undici/index.js';
import { JobFailure } from '../../errors/job-failure.ts';
import type { Logger } from '../../util/log.ts';
import { HttpConnectionError, HttpStatusError, HttpTlsError } from './errors.ts';

export interface TlsSettings {
  /** false: accept any certificate (clouds.yaml verify: false / insecure: true). */
  readonly verify: boolean;
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

export type RequestBody =
  | { readonly json: unknown }
  | {
      /** Called once per attempt: a retried upload reads the file again from the start. */
      readonly stream: () => AsyncIterable<Uint8Array>;
      readonly length: number;
    };

export interface HttpRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: RequestBody;
  readonly signal: AbortSignal;
  /** Longest wait for the answer's headers once the request is sent (default 60 s). */
  readonly headersTimeoutMs?: number;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Parsed JSON when the server said JSON, else the text (or undefined when empty). */
  readonly body: unknown;
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function isTlsFailure(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = errorCode(e);
    if (code !== undefined && (TLS_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_'))) return true;
  }
  return false;
}

/** The server's own words from an error body: JSON "message" fields, or the text, without HTML. */
export function errorDetail(body: unknown): string {
  let text = '';
  if (typeof body === 'string') text = body;
  else if (body && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    const nested = Object.values(record).find((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && 'message' in v);
    const message = record.message ?? nested?.message ?? record.title ?? record.detail;
    text = typeof message === 'string' ? message : JSON.stringify(body);
  }
  return text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 400);
}

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

function readBody(contentType: string, text: string): unknown {
  if (text === '') return undefined;
  if (!contentType.includes('json')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * One cloud's HTTP connection pool (real undici), with that cloud's TLS settings. Every
 * request asks for JSON; any status ≥ 400 becomes an HttpStatusError carrying the server's
 * message; a request that got no answer becomes an HttpConnectionError (or HttpTlsError).
 */
export class HttpClient {
  private constructor(
    private readonly agent: Agent,
    private readonly logger: Logger,
  ) {}

  static async create(tls: TlsSettings, logger: Logger): Promise<HttpClient> {
    const [ca, cert, key] = await Promise.all(
      [tls.caFile, tls.certFile, tls.keyFile].map((file) => (file ? readFile(file, 'utf8') : undefined)),
    );
    const agent = new Agent({
      connect: {
        rejectUnauthorized: tls.verify,
        ...(ca !== undefined ? { ca } : {}),
        ...(cert !== undefined ? { cert } : {}),
        ...(key !== undefined ? { key } : {}),
      },
      keepAliveTimeout: 30_000,
    });
    return new HttpClient(agent, logger);
  }

  async send(req: HttpRequest): Promise<HttpResponse> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'nodepool-builder', ...req.headers };
    let body: string | Readable | undefined;
    if (req.body && 'json' in req.body) {
      body = JSON.stringify(req.body.json);
      headers['content-type'] ??= 'application/json';
    } else if (req.body) {
      // objectMode off: undici writes the chunks as they come, under the socket's backpressure.
      body = Readable.from(req.body.stream(), { objectMode: false });
      headers['content-type'] ??= 'application/octet-stream';
      headers['content-length'] = String(req.body.length);
    }
    const started = Date.now();
    let status: number;
    let responseHeaders: Record<string, string>;
    let text: string;
    try {
      const response = await request(req.url, {
        dispatcher: this.agent,
        method: req.method,
        headers,
        body: body ?? null,
        signal: req.signal,
        headersTimeout: req.headersTimeoutMs ?? 60_000,
        bodyTimeout: 60_000,
      });
      status = response.statusCode;
      responseHeaders = flatHeaders(response.headers);
      text = await response.body.text();
    } catch (err) {
      if (req.signal.aborted) throw req.signal.reason;
      // Thrown by our own request body (the file changed under the upload): not the network's fault.
      if (err instanceof JobFailure) throw err;
      if (isTlsFailure(err)) throw new HttpTlsError(req.method, req.url, err);
      throw new HttpConnectionError(req.method, req.url, err);
    }
    this.logger.debug(`${req.method} ${req.url} → ${status} (${Date.now() - started} ms)`);
    const parsed = readBody(responseHeaders['content-type'] ?? '', text);
    if (status >= 400) throw new HttpStatusError(status, req.method, req.url, errorDetail(parsed));
    return { status, headers: responseHeaders, body: parsed };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
