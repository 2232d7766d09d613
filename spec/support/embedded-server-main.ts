/**
 * Runs our job server alone in this process, for tests that must kill it for real:
 *   bun spec/support/embedded-server-main.ts <port> [jobRetries]
 * With EMBEDDED_SERVER_RULES set (access rules as TOML), those rules are in force. With
 * HEAP_PROBE=1, SIGUSR2 makes it collect garbage and log its heap (bench/fleet/profile.ts).
 * Prints "READY <port>" once it listens; logs go to stderr.
 */
import { GearmanServer, parseAccessRules } from '../../src/protocol/server/index.ts';
import type { Logger } from '../../src/util/log.ts';

const port = Number(process.argv[2] ?? 0);
const jobRetries = Number(process.argv[3] ?? 0);
const verbose = process.env.EMBEDDED_SERVER_LOG === '1';
const write = (level: string) => (message: string) => {
  if (verbose || level === 'warn' || level === 'error') process.stderr.write(`[geard ${level}] ${message}\n`);
};
const logger: Logger = { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };

const rules = process.env.EMBEDDED_SERVER_RULES;
const acl = rules === undefined ? {} : { acl: parseAccessRules(rules, 'EMBEDDED_SERVER_RULES') };
const server = new GearmanServer({ host: '127.0.0.1', port, jobRetries, logger, ...acl });
const { port: bound } = await server.listen();
process.stdout.write(`READY ${bound}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void server.close().then(() => process.exit(0));
  });
}
if (process.env.HEAP_PROBE === '1') {
  const { heapStats } = await import('bun:jsc');
  process.on('SIGUSR2', () => {
    const before = process.memoryUsage().rss;
    Bun.gc(true);
    const h = heapStats();
    const top = Object.entries(h.objectTypeCounts).sort((a, b) => b[1] - a[1]).slice(0, 10).map(([k, v]) => `${k} ${v}`).join(', ');
    process.stderr.write(`HEAP rss ${(before / 2 ** 20).toFixed(1)} -> ${(process.memoryUsage().rss / 2 ** 20).toFixed(1)} MiB, heap ${(h.heapSize / 2 ** 20).toFixed(1)} MiB, extra ${(h.extraMemorySize / 2 ** 20).toFixed(1)} MiB; ${top}\n`);
  });
}
