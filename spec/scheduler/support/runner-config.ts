import { join } from 'node:path';

/**
 * The scheduler file of the runner-level tests (runner, metrics): one diskimage built by a
 * command, two providers, keep 1, and `extra` appended to its [scheduler] table.
 */
export function runnerConfigText(dir: string, systemId: string, extra = ''): string {
  return [
    `images-dir = "${join(dir, 'images')}"`,
    '[[diskimages]]',
    'name = "debian"',
    'builder = "command"',
    'command = ["true"]',
    'rebuild-age = "1h"',
    '[[providers]]',
    'name = "p1"',
    '[[providers]]',
    'name = "p2"',
    '[scheduler]',
    `state-file = "${join(dir, 'state.sqlite')}"`,
    `system-id = "${systemId}"`,
    'keep-builds = 1',
    'keep-uploads = 1',
    'backoff-base = "5m"',
    extra,
  ].join('\n');
}
