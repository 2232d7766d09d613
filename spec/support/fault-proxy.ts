import { type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Which requests a fault applies to. */
export type RequestMatch = (request: { readonly method: string; readonly path: string }) => boolean;

export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  /** The status the client got: the upstream's, the injected one, or 0 when the exchange broke off. */
  status: number;
  /** Request body bytes forwarded upstream. */
  forwarded: number;
  readonly injected: boolean;
  /** The X-Auth-Token it carried. */
  readonly token: string | undefined;
}

/**
 * An HTTP proxy for one upstream (a real Glance or Keystone) that injects faults a real
 * service cannot produce on demand: answers of its own (503) for a number of requests or for
 * a while, and request bodies forwarded at a limited rate. It records every request and the
 * tokens it sees (X-Auth-Token sent, X-Subject-Token answered), so tests can look for them in logs.
 */
export interface FaultProxy {
  readonly url: string;
  readonly requests: readonly ProxiedRequest[];
  /** Every token value that went through, either way. */
  readonly tokens: ReadonlySet<string>;
  /** The next `count` requests that match get `status` from the proxy (their bodies are read first). */
  failNext(count: number, status?: number, match?: RequestMatch): void;
  /** Requests that match during the next `ms` milliseconds get `status` from the proxy. */
  failFor(ms: number, status?: number, match?: RequestMatch): void;
  /** Request bodies go upstream at most this fast; undefined lifts the limit. */
  throttle(bytesPerSecond: number | undefined): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);
const SLICE = 16 * 1024;

const everything: RequestMatch = () => true;

/** Resolves once `out` takes writes again, or is gone. */
function drained(out: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}

function forwardable(headers: IncomingMessage['headers']): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const requests: ProxiedRequest[] = [];
  const tokens = new Set<string>();
  const faults: Array<{ remaining: number; until: number; status: number; match: RequestMatch }> = [];
  let rate: number | undefined;

  const injectedStatus = (method: string, path: string): number | undefined => {
    const now = Date.now();
    for (const fault of faults) {
      if ((fault.remaining > 0 || now < fault.until) && fault.match({ method, path })) {
        if (fault.remaining > 0) fault.remaining--;
        return fault.status;
      }
    }
    return undefined;
  };

  const noteToken = (value: string | string[] | undefined) => {
    for (const v of Array.isArray(value) ? value : value ? [value] : []) tokens.add(v);
  };

  const answerItself = (req: IncomingMessage, res: ServerResponse, record: ProxiedRequest, status: number) => {
    req.resume();
    req.once('end', () => {
      const body = JSON.stringify({ message: `fault proxy: injected ${status}` });
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      record.status = status;
    });
  };

  /** Copies the request body upstream, paced when a rate is set, under the upstream's backpressure. */
  const pump = async (req: IncomingMessage, out: ClientRequest, record: ProxiedRequest) => {
    const started = Date.now();
    for await (const chunk of req as AsyncIterable<Buffer>) {
      for (let offset = 0; offset < chunk.length; offset += SLICE) {
        const slice = chunk.subarray(offset, offset + SLICE);
        if (rate !== undefined) {
          const due = started + ((record.forwarded + slice.length) / rate) * 1000;
          if (due > Date.now()) await Bun.sleep(due - Date.now());
        }
        if (out.destroyed) return;
        record.forwarded += slice.length;
        if (!out.write(slice)) await drained(out);
      }
    }
    out.end();
  };

  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const token = req.headers['x-auth-token'];
    noteToken(token);
    const status = injectedStatus(method, path);
    const record: ProxiedRequest = {
      method,
      path,
      status: 0,
      forwarded: 0,
      injected: status !== undefined,
      token: Array.isArray(token) ? token[0] : token,
    };
    requests.push(record);
    if (status !== undefined) {
      answerItself(req, res, record, status);
      return;
    }
    const out = request({
      host: upstream.hostname,
      port: upstream.port,
      method,
      path,
      headers: forwardable(req.headers),
      agent: false,
    });
    // Either side breaking off breaks the other: the client must see a dead upstream, and a dead client must not finish an upload.
    // The socket, not the response: a destroyed response may still go out as an empty 200.
    const breakOff = () => req.socket.destroy();
    out.once('error', breakOff);
    res.once('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    out.once('response', (answer) => {
      noteToken(answer.headers['x-subject-token']);
      record.status = answer.statusCode ?? 0;
      res.writeHead(answer.statusCode ?? 502, forwardable(answer.headers));
      answer.pipe(res);
      answer.once('error', breakOff);
    });
    pump(req, out, record).catch(() => out.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    tokens,
    failNext(count, status = 503, match = everything) {
      faults.push({ remaining: count, until: 0, status, match });
    },
    failFor(ms, status = 503, match = everything) {
      faults.push({ remaining: 0, until: Date.now() + ms, status, match });
    },
    throttle(bytesPerSecond) {
      rate = bytesPerSecond;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
