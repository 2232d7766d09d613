import { describe, expect, test } from 'bun:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/config/table-reader.ts';
import { parseDuration, parseSize } from '../../src/config/units.ts';
import { formatImageName } from '../../src/uploaders/image-name.ts';

const errorOf = (text: string): ConfigError => {
  try {
    parseConfig(text, '/etc/nodepool-builder.toml');
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('the configuration file', () => {
  test('every key of the reference file is read', async () => {
    const config = await loadConfig('fixtures/config/full.toml');
    expect(config.buildWorkers).toBe(2);
    expect(config.uploadWorkers).toBe(6);
    expect(config.minFreeSpace).toBe(20 * 1024 ** 3);
    expect(config.shutdownGraceMs).toBe(600_000);
    expect(config.statsd).toEqual({ host: '127.0.0.1', port: 8125, prefix: 'nodepool' });
    expect(config.metrics).toEqual({ listen: { host: '0.0.0.0', port: 9105 } });
    expect(config.geardAcl).toBe('/etc/nodepool-builder/acl.toml');
    expect(config.geardTls).toEqual({ cert: '/etc/nodepool/builder-01.pem', key: '/etc/nodepool/builder-01.key', ca: '/etc/nodepool/ca.pem', requireClientCert: true });
    expect(config.gearmanServers).toEqual([
      { host: 'gearman-1.example', port: 4730 },
      {
        host: 'gearman-2.example',
        port: 4730,
        tls: { ca: '/etc/nodepool/ca.pem', cert: '/etc/nodepool/builder.pem', key: '/etc/nodepool/builder.key' },
      },
    ]);
    expect(config.diskimages[0]).toMatchObject({
      name: 'debian-bookworm',
      builder: 'dib',
      elements: ['debian-minimal', 'vm'],
      formats: ['qcow2', 'raw'],
      envVars: { DIB_DEBIAN_COMPONENTS: 'main' },
      buildTimeoutMs: 8 * 3_600_000,
      dibArgs: ['--image-size', '3'],
      noTmpfs: true,
    });
    expect(config.diskimages[1]).toMatchObject({ builder: 'command', command: ['/usr/local/bin/packer-build', 'windows-2022'] });
    expect(config.providers[0]).toMatchObject({ uploadMethod: 'import', uploadHashing: 'in-stream', minDisk: 10, minRam: 1024, meta: { hw_disk_bus: 'scsi' } });
  });

  test('geard-tls-* name the embedded job server\'s TLS files, relative to the file; unset, it serves plain TCP', () => {
    const config = parseConfig('geard-tls-cert = "pki/server.pem"\ngeard-tls-key = "/k/server.key"\ngeard-tls-ca = "pki/ca.pem"', '/etc/nodepool-builder/builder.toml');
    expect(config.geardTls).toEqual({ cert: '/etc/nodepool-builder/pki/server.pem', key: '/k/server.key', ca: '/etc/nodepool-builder/pki/ca.pem', requireClientCert: false });
    expect(parseConfig('geard-tls-cert = "s.pem"\ngeard-tls-key = "s.key"\ngeard-tls-ca = "ca.pem"\ngeard-tls-require-client-cert = true', '/x.toml').geardTls?.requireClientCert).toBe(true);
    expect(parseConfig('', '/x.toml').geardTls).toBeUndefined();
  });

  test('an empty file gives the documented defaults', () => {
    const config = parseConfig('', '/x.toml');
    expect(config).toMatchObject({
      imagesDir: '/var/lib/nodepool-builder/images',
      logDir: '/var/lib/nodepool-builder/images/logs',
      buildWorkers: 1,
      uploadWorkers: 4,
      minFreeSpace: 2 * 1024 ** 3,
      gearmanServers: [],
      diskimages: [],
      providers: [],
      statsd: undefined,
    });
  });

  test.each([
    ['build-wokers = 2', 'build-wokers', 'no such key'],
    ['[[diskimages]]\nname = "a"\nelements = ["x"]\ncolour = "red"', 'diskimages[0].colour', 'no such key'],
    ['build-workers = "two"', 'build-workers', 'an integer from 1 to 64, got "two"'],
    ['[[diskimages]]\nname = "a"\nelements = ["x"]\nbuild-timeout = "8 hours"', 'diskimages[0].build-timeout', 'a duration'],
    ['[[diskimages]]\nname = "a"', 'diskimages[0].elements', 'an array of strings (required)'],
    ['[[diskimages]]\nname = "a"\nbuilder = "command"', 'diskimages[0].command', 'an array of strings (required)'],
    ['[[diskimages]]\nname = "../evil"\nelements = ["x"]', 'diskimages[0].name', 'a name of letters'],
    ['[[diskimages]]\nname = "a"\nelements = ["x"]\nformats = ["iso"]', 'diskimages[0].formats[0]', 'one of qcow2'],
    ['[[diskimages]]\nname = "a"\nelements = ["x"]\nenv-vars = { A = 1 }', 'diskimages[0].env-vars.A', 'a string, got 1'],
    ['[[diskimages]]\nname = "a"\nelements = ["x"]\n[[diskimages]]\nname = "a"\nelements = ["y"]', 'diskimages[1].name', 'not used by another'],
    ['[[providers]]\nname = "p"\ncloud = 7', 'providers[0].cloud', 'a string'],
    ['[[providers]]\nname = "p"\ncloud = "c"\nimage-format = "iso"', 'providers[0].image-format', 'one of qcow2, raw, vhd'],
    ['[[providers]]\nname = "p"\nupload-hashing = "md5"', 'providers[0].upload-hashing', 'one of auto, in-stream'],
    ['[[gearman-servers]]\nhost = "h"\nport = 70000', 'gearman-servers[0].port', 'an integer from 1 to 65535'],
    ['[[gearman-servers]]\nhost = "h"\ntls-cert = "c.pem"', 'gearman-servers[0].tls-key', 'tls-cert and tls-key together'],
    ['min-free-space = "lots"', 'min-free-space', 'a size such as'],
    ['geard-tls-cert = "s.pem"\ngeard-tls-ca = "ca.pem"', 'geard-tls-key', "the embedded job server's certificate and key (geard-tls-cert and geard-tls-key), together"],
    ['geard-tls-key = "s.key"\ngeard-tls-ca = "ca.pem"', 'geard-tls-cert', 'together, when any geard-tls-* key is set'],
    ['geard-tls-require-client-cert = true', 'geard-tls-cert', 'together, when any geard-tls-* key is set'],
    ['geard-tls-cert = "s.pem"\ngeard-tls-key = "s.key"', 'geard-tls-ca', 'the CA of the client certificates (required with geard-tls-cert'],
    ['geard-tls-cert = "s.pem"\ngeard-tls-key = "s.key"\ngeard-tls-ca = "ca.pem"\ngeard-tls-require-client-cert = "yes"', 'geard-tls-require-client-cert', 'true or false, got "yes"'],
    ['geard-tls-cert = "~/s.pem"', 'geard-tls-cert', 'a path, absolute or relative to this file'],
    ['images-dir = [', 'line 1, column', 'valid TOML'],
  ])('%p is refused at %s', (text, path, expected) => {
    const err = errorOf(text);
    expect(err.file).toBe('/etc/nodepool-builder.toml');
    expect(err.path).toContain(path);
    expect(err.message).toContain(expected);
    expect(err.message.startsWith('/etc/nodepool-builder.toml: ')).toBe(true);
  });

  test.each([
    ['[[diskimages]]\nname = "a"\nelements = ["x"]\nbuild-timeout = "25d"', 'diskimages[0].build-timeout'],
    ['[[providers]]\nname = "p"\nupload-timeout = "30d"', 'providers[0].upload-timeout'],
    ['shutdown-grace = "24d20h31m23s648ms"', 'shutdown-grace'],
    ['shutdown-grace = "100000d"', 'shutdown-grace'],
  ])('G3: a duration longer than a timer can wait is refused, naming the key and the maximum: %p', (text, path) => {
    const err = errorOf(text);
    expect(err.path).toBe(path);
    expect(err.message).toContain('expected a duration of at most 24d20h31m23s647ms');
  });

  test.each([
    ['{image_name}-{date}', '{date} is not a known field ({image_name}, {image_id}, {provider}, {timestamp})'],
    ['{imagename}', '{imagename} is not a known field'],
    ['{timestamp:d}', '{timestamp:d} is not a known field'],
    ['{image_name}-{timestamp', 'the "{" at position 14 is never closed'],
    ['{image_name-{timestamp}', 'the "{" at position 1 is never closed'],
    ['{image_name}}', 'a "}" at position 13 closes nothing'],
    ['', 'it is empty'],
  ])('H7: image-name-format %p is refused: %s', (format, why) => {
    const err = errorOf(`[[providers]]\nname = "p"\nimage-name-format = "${format}"`);
    expect(err.path).toBe('providers[0].image-name-format');
    expect(err.message).toContain(`expected a name format (${why}`);
  });

  test('H7: the known fields, and {{ }} for braces, make the name', () => {
    const config = parseConfig('[[providers]]\nname = "p"\nimage-name-format = "{{x}}-{image_name}-{image_id}-{provider}-{timestamp}"', '/x.toml');
    const format = config.providers[0]!.imageNameFormat;
    expect(formatImageName(format, { imageName: 'deb', imageId: 'id-1', provider: 'p', timestamp: 1_700_000_000_999 })).toBe('{x}-deb-id-1-p-1700000000');
  });

  test('upload-hashing is "auto" unless a provider asks for "in-stream"', () => {
    const config = parseConfig('[[providers]]\nname = "p"\n[[providers]]\nname = "q"\nupload-hashing = "in-stream"', '/x.toml');
    expect(config.providers.map((p) => p.uploadHashing)).toEqual(['auto', 'in-stream']);
  });

  test('G3: the longest duration a timer can wait (2^31 - 1 ms) is accepted', () => {
    const config = parseConfig(
      'shutdown-grace = "24d20h31m23s647ms"\n[[diskimages]]\nname = "a"\nelements = ["x"]\nbuild-timeout = "24d"',
      '/x.toml',
    );
    expect(config.shutdownGraceMs).toBe(2 ** 31 - 1);
    expect(config.diskimages[0]?.buildTimeoutMs).toBe(24 * 86_400_000);
  });

  test('relative paths are relative to the configuration file', () => {
    const config = parseConfig(
      'images-dir = "images"\nelements-path = ["../elements"]\n[[gearman-servers]]\nhost = "h"\ntls-ca = "ca.pem"',
      '/etc/nodepool-builder/builder.toml',
    );
    expect(config.imagesDir).toBe('/etc/nodepool-builder/images');
    expect(config.logDir).toBe('/etc/nodepool-builder/images/logs');
    expect(config.elementsPath).toEqual(['/etc/elements']);
    expect(config.gearmanServers[0]?.tls?.ca).toBe('/etc/nodepool-builder/ca.pem');
  });

  test('a missing file names the file', async () => {
    const err = await loadConfig('/nonexistent/builder.toml').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe('/nonexistent/builder.toml: expected a readable file, got "ENOENT"');
  });
});

describe('units', () => {
  test.each([
    ['8h', 28_800_000],
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['2d', 172_800_000],
  ])('duration %s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  test.each(['', '8', 'h', '8 h', '-1s', '1y'])('not a duration: %p', (text) => expect(parseDuration(text)).toBeUndefined());

  test.each([
    ['10G', 10 * 1024 ** 3],
    ['512MiB', 512 * 1024 ** 2],
    ['1.5 GB', 1.5 * 1024 ** 3],
    ['2048', 2048],
  ])('size %s', (text, bytes) => expect(parseSize(text)).toBe(bytes));
});

describe('G11: config accepted that failed later is refused by the loader', () => {
  const diskimage = (extra: string) => `[[diskimages]]\nname = "a"\n${extra}`;
  test.each([
    [diskimage('elements = ["x"]\nenv-vars = { DIB_X = "a\\u0000b" }'), 'diskimages[0].env-vars.DIB_X', 'text without a NUL character'],
    [diskimage('elements = ["x"]\ndib-args = ["--x\\u0000"]'), 'diskimages[0].dib-args[0]', 'text without a NUL character'],
    ['images-dir = "~/imgs"', 'images-dir', '"~" is not expanded'],
    ['log-dir = "~"', 'log-dir', '"~" is not expanded'],
    ['images-dir = ""', 'images-dir', 'a path'],
    ['elements-path = ["~/elements"]', 'elements-path[0]', '"~" is not expanded'],
    ['[[gearman-servers]]\nhost = ""', 'gearman-servers[0].host', 'a host name or address (not empty, no spaces)'],
    ['[statsd]\nhost = ""', 'statsd.host', 'a host name or address'],
    ['client-id = "builder|01"', 'client-id', 'no spaces, ":" or "|"'],
    ['client-id = "builder:01"', 'client-id', 'no spaces, ":" or "|"'],
    [diskimage('elements = ["--help"]'), 'diskimages[0].elements[0]', 'an element name'],
    [diskimage('elements = ["vm", "-x"]'), 'diskimages[0].elements[1]', 'an element name'],
    [diskimage('elements = ["x"]\nformats = ["qcow2", "raw", "qcow2"]'), 'diskimages[0].formats[2]', 'a format not listed before'],
  ])('%p is refused at %s', (text, path, expected) => {
    const err = errorOf(text);
    expect(err.path).toBe(path);
    expect(err.message).toContain(expected);
  });

  test('images-dir (or log-dir) naming a file is refused by config-validate, not at run with ENOTDIR', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-dirs-'));
    writeFileSync(join(dir, 'a-file'), '');
    for (const key of ['images-dir', 'log-dir']) {
      writeFileSync(join(dir, 'builder.toml'), `${key} = "a-file"\n`);
      const err = await loadConfig(join(dir, 'builder.toml')).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).path).toBe(key);
      expect((err as ConfigError).message).toContain(`${join(dir, 'a-file')}, which is not a directory`);
    }
    // A directory that does not exist yet is fine: the builder makes it.
    writeFileSync(join(dir, 'builder.toml'), 'images-dir = "not-yet"\n');
    expect((await loadConfig(join(dir, 'builder.toml'))).imagesDir).toBe(join(dir, 'not-yet'));
  });
});

describe('[metrics]: the builder\'s Prometheus listener', () => {
  test('listen is read as host and port (IPv6 in brackets); without the table there is none', () => {
    expect(parseConfig('[metrics]\nlisten = "0.0.0.0:9105"', '/x.toml').metrics).toEqual({ listen: { host: '0.0.0.0', port: 9105 } });
    expect(parseConfig('[metrics]\nlisten = "[::1]:9105"', '/x.toml').metrics).toEqual({ listen: { host: '::1', port: 9105 } });
    expect(parseConfig('', '/x.toml').metrics).toBeUndefined();
  });

  test.each([
    ['[metrics]', 'metrics.listen', '"host:port" or "[v6-address]:port" (required)'],
    ['[metrics]\nlisten = "9105"', 'metrics.listen', '"host:port" or "[v6-address]:port", port 1 to 65535'],
    ['[metrics]\nlisten = "localhost:70000"', 'metrics.listen', 'port 1 to 65535'],
    ['[metrics]\nlisten = 9105', 'metrics.listen', '"host:port"'],
    ['[metrics]\nlisten = "127.0.0.1:9105"\nport = 9105', 'metrics.port', 'no such key'],
  ])('%p is refused at %s', (text, path, expected) => {
    const err = errorOf(text);
    expect(err.path).toBe(path);
    expect(err.message).toContain(expected);
  });
});
