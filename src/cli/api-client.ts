import { readFileSync } from 'node:fs';
import { errorCode } from '../errors/thrown.ts';
import { ApiClientError } from './api-client-error.ts';
import { UsageError } from './cli-error.ts';

export const DEFAULT_API = 'http://127.0.0.1:8005';

/** The options every command that talks to the scheduler's API takes. */
export const apiArgs = {
  api: { type: 'string', description: `The scheduler's API (default ${DEFAULT_API})`, valueHint: 'URL' },
  json: { type: 'boolean', description: 'Print JSON' },
  debug: { type: 'boolean', description: 'Show stack traces' },
} as const;

/** Writes also take the token. */
export const tokenArgs = {
  'token-file': { type: 'string', description: 'A file holding the bearer token ([scheduler] api-token-file)', valueHint: 'FILE' },
} as const;

export interface ApiCall {
  readonly api: string | undefined;
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly body?: Record<string, unknown>;
  readonly tokenFile?: string | undefined;
  /** Ask for the API's text table (or line) instead of JSON. */
  readonly text: boolean;
}

function baseUrl(api: string | undefined): URL {
  let url: URL;
  try {
    url = new URL(api ?? DEFAULT_API);
  } catch {
    throw new UsageError(`--api must be a URL such as ${DEFAULT_API}, got ${JSON.stringify(api)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--api must be an http:// or https:// URL, got ${JSON.stringify(api)}`);
  return url;
}

function token(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new UsageError(`--token-file ${file}: cannot read it (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
}

/** One request to the scheduler's API; the body as text, or an ApiClientError naming the API's code. */
export async function callApi(call: ApiCall): Promise<string> {
  const base = baseUrl(call.api);
  const url = new URL(call.path.replace(/^\//, ''), base.href.endsWith('/') ? base : new URL(`${base.href}/`));
  const headers: Record<string, string> = { accept: call.text ? 'text/plain' : 'application/json' };
  const bearer = token(call.tokenFile);
  if (bearer !== undefined) headers.authorization = `Bearer ${bearer}`;
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(url, { method: call.method, headers, body: call.body === undefined ? null : JSON.stringify(call.body), signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    // Bun's messages for a refused connection add advice; the code (ECONNREFUSED, TimeoutError) says it.
    const why = errorCode(err) ?? (err instanceof Error ? err.name === 'Error' ? err.message : err.name : String(err));
    throw new ApiClientError('API_UNREACHABLE', `cannot reach the scheduler's API at ${base.origin}: ${why}`, { cause: err });
  }
  const text = await res.text();
  if (res.ok) return text;
  let code = `HTTP_${res.status}`;
  let message = text.trim().slice(0, 500);
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof parsed.error?.code === 'string') code = parsed.error.code;
    if (typeof parsed.error?.message === 'string') message = parsed.error.message;
  } catch {
    // Not the scheduler's JSON (a proxy's page?): its status and first words say enough.
  }
  throw new ApiClientError(code, `the scheduler's API refused (${res.status} ${code}): ${message}`);
}

/** Prints a reply: JSON pretty with --json, the API's text otherwise. */
export function printReply(body: string, json: boolean): void {
  if (!json) {
    process.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
    return;
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    process.stdout.write(body);
    return;
  }
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
