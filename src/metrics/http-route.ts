import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

/** GET /metrics: the registry in Prometheus's text format, collected now. */
export function metricsRoute(registry: Registry): (raw: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (_raw, res) => {
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
    res.end(body);
  };
}
