import { join } from 'node:path';

export interface SchedulerConfigParts {
  readonly dir: string;
  readonly gearmandPort: number;
  readonly listenPort: number;
  readonly stateFile: string;
  readonly tokenFile: string;
  readonly systemId: string;
  readonly extra?: string;
}

/**
 * A scheduler's TOML: one command-built diskimage "debian", one provider "p1", one job server.
 * cleanup-interval is an hour, so only job ends, SIGHUP and API writes start passes in a test.
 */
export function schedulerConfigText(parts: SchedulerConfigParts): string {
  return [
    `images-dir = "${join(parts.dir, 'images')}"`,
    '[[gearman-servers]]',
    'host = "127.0.0.1"',
    `port = ${parts.gearmandPort}`,
    '[[diskimages]]',
    'name = "debian"',
    'builder = "command"',
    'command = ["true"]',
    '[[providers]]',
    'name = "p1"',
    '[scheduler]',
    `state-file = "${parts.stateFile}"`,
    `listen = "127.0.0.1:${parts.listenPort}"`,
    `system-id = "${parts.systemId}"`,
    'cleanup-interval = "1h"',
    `api-token-file = "${parts.tokenFile}"`,
    parts.extra ?? '',
  ].join('\n');
}
