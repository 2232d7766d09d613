import { describe, expect, test } from 'bun:test';
import { loadConfig, parseConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/config/table-reader.ts';

const FILE = '/etc/nodepool-builder/scheduler.toml';

const errorOf = (text: string): ConfigError => {
  try {
    parseConfig(text, FILE);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

const image = (name: string, extra = '') => `[[diskimages]]\nname = "${name}"\nelements = ["vm"]\n${extra}\n`;

describe('the [scheduler] table', () => {
  test('every scheduler key of the reference file is read', async () => {
    const config = await loadConfig('fixtures/config/full.toml');
    expect(config.scheduler).toEqual({
      stateFile: '/var/lib/nodepool-builder/scheduler.sqlite',
      listen: { host: '0.0.0.0', port: 8005 },
      apiTokenFile: '/etc/nodepool-builder/api-token',
      cleanupIntervalMs: 120_000,
      keepBuilds: 3,
      keepUploads: 2,
      systemId: 'ci-east',
      leakPasses: 3,
      backoffBaseMs: 30_000,
      backoffCapMs: 7_200_000,
      missingBuildGraceMs: 900_000,
      cloudJobTimeoutMs: 300_000,
      jobTimeoutMarginMs: 1_200_000,
      historyRetentionMs: 30 * 86_400_000,
    });
    expect(config.diskimages.map((d) => [d.name, d.rebuildAgeMs, d.pause])).toEqual([
      ['debian-bookworm', 12 * 3_600_000, false],
      ['windows-2022', 86_400_000, true],
    ]);
    expect(config.providers[0]?.diskimages).toEqual([
      { name: 'debian-bookworm', pause: false, meta: { os_distro: 'debian' } },
      { name: 'windows-2022', pause: true, meta: {} },
    ]);
  });

  test('a file without [scheduler] has none, and an empty table gives the documented defaults', () => {
    expect(parseConfig('', FILE).scheduler).toBeUndefined();
    expect(parseConfig('[scheduler]\n', FILE).scheduler).toEqual({
      stateFile: '/var/lib/nodepool-builder/scheduler.sqlite',
      listen: { host: '127.0.0.1', port: 8005 },
      apiTokenFile: undefined,
      cleanupIntervalMs: 60_000,
      keepBuilds: 2,
      keepUploads: 2,
      systemId: undefined,
      leakPasses: 2,
      backoffBaseMs: 60_000,
      backoffCapMs: 3_600_000,
      missingBuildGraceMs: 600_000,
      cloudJobTimeoutMs: 600_000,
      jobTimeoutMarginMs: 600_000,
      historyRetentionMs: 7 * 86_400_000,
    });
  });

  test('state-file and api-token-file are relative to the file', () => {
    const config = parseConfig('[scheduler]\nstate-file = "state/s.db"\napi-token-file = "token"', FILE);
    expect(config.scheduler?.stateFile).toBe('/etc/nodepool-builder/state/s.db');
    expect(config.scheduler?.apiTokenFile).toBe('/etc/nodepool-builder/token');
  });

  test('listen takes an IPv6 address in brackets', () => {
    expect(parseConfig('[scheduler]\nlisten = "[::1]:9005"', FILE).scheduler?.listen).toEqual({ host: '::1', port: 9005 });
  });

  test('a diskimage defaults to rebuild-age 24h, not paused; a provider without diskimages takes every one', () => {
    const config = parseConfig(`${image('a')}[[providers]]\nname = "p"\n[[providers]]\nname = "q"\ndiskimages = []`, FILE);
    expect(config.diskimages[0]).toMatchObject({ rebuildAgeMs: 86_400_000, pause: false });
    expect(config.providers[0]?.diskimages).toBeUndefined();
    expect(config.providers[1]?.diskimages).toEqual([]);
  });

  test.each([
    ['[scheduler]\nlisten = "8005"', 'scheduler.listen', '"host:port" or "[v6-address]:port", port 1 to 65535, got "8005"'],
    ['[scheduler]\nlisten = "127.0.0.1:0"', 'scheduler.listen', 'port 1 to 65535'],
    ['[scheduler]\nlisten = "::1:8005"', 'scheduler.listen', '"[v6-address]:port"'],
    ['[scheduler]\nlisten = 8005', 'scheduler.listen', 'a string, got 8005'],
    ['[scheduler]\nstate-file = "~/s.db"', 'scheduler.state-file', '"~" is not expanded'],
    ['[scheduler]\napi-token-file = ""', 'scheduler.api-token-file', 'a path'],
    ['[scheduler]\ncleanup-interval = "1 minute"', 'scheduler.cleanup-interval', 'a duration such as "1m"'],
    ['[scheduler]\nkeep-builds = 0', 'scheduler.keep-builds', 'an integer from 1 to 1000, got 0'],
    ['[scheduler]\nkeep-uploads = "2"', 'scheduler.keep-uploads', 'an integer from 1 to 1000, got "2"'],
    ['[scheduler]\nleak-passes = 0', 'scheduler.leak-passes', 'an integer from 1 to 100'],
    ['[scheduler]\nsystem-id = "ci east"', 'scheduler.system-id', 'an id of letters, digits'],
    ['[scheduler]\nbackoff-base = "10m"\nbackoff-cap = "5m"', 'scheduler.backoff-cap', 'at least as long as backoff-base (10m), got "5m"'],
    ['[scheduler]\nmissing-build-grace = "0s"', 'scheduler.missing-build-grace', 'a duration'],
    ['[scheduler]\ncloud-job-timeout = "0s"', 'scheduler.cloud-job-timeout', 'a duration such as "10m"'],
    ['[scheduler]\ncloud-job-timeout = 600', 'scheduler.cloud-job-timeout', 'got 600'],
    ['[scheduler]\njob-timeout-margin = "ten minutes"', 'scheduler.job-timeout-margin', 'a duration such as "10m"'],
    ['[scheduler]\nhistory-retention = "-1d"', 'scheduler.history-retention', 'a duration such as "7d"'],
    ['[scheduler]\nhistory-retention = "4000d"', 'scheduler.history-retention', 'a duration of at most 3650d (ten years)'],
    ['[scheduler]\ncloud-job-timeout = "30d"', 'scheduler.cloud-job-timeout', '(the longest a timer can wait)'],
    ['[scheduler]\nkeep-build = 2', 'scheduler.keep-build', 'no such key'],
    ['scheduler = "yes"', 'scheduler', 'a table ([scheduler])'],
    [image('a', 'rebuild-age = "daily"'), 'diskimages[0].rebuild-age', 'a duration such as "1d"'],
    [image('a', 'pause = "yes"'), 'diskimages[0].pause', 'true or false, got "yes"'],
    [`${image('a')}[[providers]]\nname = "p"\ndiskimages = ["a"]`, 'providers[0].diskimages[0]', 'a table, got "a"'],
    [`${image('a')}[[providers]]\nname = "p"\ndiskimages = "a"`, 'providers[0].diskimages', 'an array of tables'],
    [`${image('a')}[[providers]]\nname = "p"\ndiskimages = [{ pause = true }]`, 'providers[0].diskimages[0].name', 'a name of letters'],
    [`${image('a')}[[providers]]\nname = "p"\ndiskimages = [{ name = "a", paused = true }]`, 'providers[0].diskimages[0].paused', 'no such key'],
    [`${image('a')}[[providers]]\nname = "p"\ndiskimages = [{ name = "a", pause = 1 }]`, 'providers[0].diskimages[0].pause', 'true or false, got 1'],
    [`${image('a')}[[providers]]\nname = "p"\ndiskimages = [{ name = "a", meta = { k = 1 } }]`, 'providers[0].diskimages[0].meta.k', 'a string, got 1'],
    [`${image('a')}[[providers]]\nname = "p"\ndiskimages = [{ name = "b" }]`, 'providers[0].diskimages[0].name', 'the name of a [[diskimages]] entry of this file, got "b"'],
    [`${image('a')}[[providers]]\nname = "p"\ndiskimages = [{ name = "a" }, { name = "a" }]`, 'providers[0].diskimages[1].name', 'a diskimage not listed before for this provider'],
  ])('%p is refused at %s', (text, path, expected) => {
    const err = errorOf(text);
    expect(err.file).toBe(FILE);
    expect(err.path).toBe(path);
    expect(err.message).toContain(expected);
    expect(err.message.startsWith(`${FILE}: ${path}: expected `)).toBe(true);
  });
});
