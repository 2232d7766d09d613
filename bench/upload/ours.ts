/**
 * One upload by our code, in its own process so its peak RSS (VmHWM) is its own. Prints one
 * JSON line: {"seconds", "bytes", "vmHwmKiB", "externalId"?}.
 *   glance <clouds.yaml> <cloud> <file> <md5> <sha256> <auto|in-stream> [hashes]
 *                              the whole GlanceUploader flow with that upload-hashing
 *   sink <url> <file> [hashes] the same streamed PUT (HttpClient + HashingFile); unhashed by default, as "auto" sends
 * hashes: comma-separated md5,sha256,sha512, or "none".
 */
import { readFile, stat } from 'node:fs/promises';
import type { ProviderConfig, UploadHashing } from '../../src/config/schema.ts';
import { createGlanceUploaders } from '../../src/uploaders/glance/uploaders-by-provider.ts';
import { type HashAlgorithm, HashingFile } from '../../src/uploaders/hashing-file.ts';
import { HttpClient } from '../../src/uploaders/openstack/http.ts';
import { silentLogger } from '../../src/util/log.ts';

const hashesOf = (arg: string | undefined): HashAlgorithm[] | undefined =>
  arg === undefined ? undefined : arg === 'none' ? [] : (arg.split(',') as HashAlgorithm[]);

async function peakRssKiB(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

async function toGlance(cloudsFile: string, cloud: string, path: string, md5: string, sha256: string, uploadHashing: UploadHashing, hashes: HashAlgorithm[] | undefined) {
  const { size } = await stat(path);
  const uploaders = createGlanceUploaders({ logger: silentLogger, cloudsFile, env: {}, ...(hashes ? { uploader: { hashes } } : {}) });
  const provider: ProviderConfig = {
    name: 'bench',
    cloud,
    region: undefined,
    imageFormat: 'raw',
    imageNameFormat: '{image_name}',
    uploadTimeoutMs: 3_600_000,
    uploadMethod: 'put',
    uploadHashing,
    visibility: 'private',
    minDisk: undefined,
    minRam: undefined,
    meta: {},
    diskimages: undefined,
  };
  const started = performance.now();
  const result = await uploaders(provider).upload({
    imageId: 'bench',
    provider,
    imageName: `bench-ours-${Date.now()}`,
    path,
    format: 'raw',
    size,
    md5,
    sha256,
    signal: AbortSignal.timeout(3_600_000),
    progress: () => {},
  });
  const seconds = (performance.now() - started) / 1000;
  await uploaders.close();
  return { seconds, bytes: size, externalId: result.externalId };
}

async function toSink(url: string, path: string, hashes: HashAlgorithm[] | undefined) {
  const { size } = await stat(path);
  const http = await HttpClient.create({ verify: true }, silentLogger);
  const file = new HashingFile({ path, size, algorithms: hashes ?? [] });
  const started = performance.now();
  const response = await http.send({ method: 'PUT', url, body: { length: size, stream: () => file.chunks() }, signal: AbortSignal.timeout(600_000) });
  const seconds = (performance.now() - started) / 1000;
  await http.close();
  const counted = (response.body as { bytes?: number } | undefined)?.bytes;
  if (counted !== size) throw new Error(`the sink counted ${counted} bytes of ${size}`);
  return { seconds, bytes: size, digests: file.digests() };
}

const [mode, ...args] = process.argv.slice(2);
const result =
  mode === 'glance'
    ? await toGlance(args[0]!, args[1]!, args[2]!, args[3]!, args[4]!, args[5] === 'in-stream' ? 'in-stream' : 'auto', hashesOf(args[6]))
    : await toSink(args[0]!, args[1]!, hashesOf(args[2]));
process.stdout.write(`${JSON.stringify({ ...result, vmHwmKiB: await peakRssKiB() })}\n`);
