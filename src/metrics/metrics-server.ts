import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ListenAddress } from '../config/schema.ts';
import { oneLine } from '../errors/thrown.ts';
import type { Logger } from '../util/log.ts';
import { metricsRoute } from './http-route.ts';

export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The builder's `[metrics] listen`: GET /metrics and nothing else. A failing collection is a 500
 * and a log line; the builder goes on.
 */
export async function startMetricsServer(listen: ListenAddress, registry: Registry, logger: Logger): Promise<MetricsServer> {
  const route = metricsRoute(registry);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found: this listener serves GET /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8', allow: 'GET, HEAD' });
      res.end('/metrics takes GET\n');
      return;
    }
    route(req, res).catch((err: unknown) => {
      logger.error(`metrics: collecting failed: ${oneLine(err)}`);
      if (res.headersSent) return void res.destroy();
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('collecting the metrics failed\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
