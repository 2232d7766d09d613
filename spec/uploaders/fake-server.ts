import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

/** Answers one request; may read the body itself (`req`), or leave it to be read into `seen.body`. */
export type Route = (seen: SeenRequest, res: ServerResponse, req: IncomingMessage) => void | Promise<void>;

export interface FakeServer {
  readonly url: string;
  readonly requests: SeenRequest[];
  close(): Promise<void>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A scripted HTTP server on 127.0.0.1 for unit tests: `route` decides every answer. */
export async function startFakeServer(route: Route, options: { readBody?: (method: string, path: string) => boolean } = {}): Promise<FakeServer> {
  const requests: SeenRequest[] = [];
  const server: Server = createServer(async (req, res) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const read = options.readBody?.(method, path) ?? true;
    const body = read ? await readAll(req).catch(() => undefined) : Buffer.alloc(0);
    if (body === undefined) return; // the client gave up mid-body
    const seen = { method, path, headers: req.headers, body };
    requests.push(seen);
    try {
      await route(seen, res, req);
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, { message: String(err) });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
