import { toError } from '../errors/thrown.ts';
import { spawn } from 'node:child_process';
import { open, realpath } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { JobFailure } from '../errors/job-failure.ts';

/** qemu's driver name for each disk image format a build writes or a provider takes. */
export const QEMU_FORMATS: Readonly<Record<string, string>> = {
  raw: 'raw',
  qcow2: 'qcow2',
  vhd: 'vpc',
  vhdx: 'vhdx',
  vmdk: 'vmdk',
};

/**
 * A disk image that is not what it says or not self-contained: a backing file, an external
 * data file or an extent elsewhere would make qemu-img (here, in Glance or in Nova) read a
 * file of the host into the image (the class of CVE-2024-32498).
 */
export class DiskImageError extends JobFailure {
  override readonly name: string = 'DiskImageError';
}

export interface InspectOptions {
  readonly qemuImg?: string;
  readonly signal?: AbortSignal;
  /** How the file is named in messages (the build's file name); its path otherwise. */
  readonly label?: string;
}

const INFO_TIMEOUT_MS = 60_000;
const MAX_INFO_BYTES = 1 << 20;

/**
 * Magic numbers of formats that can refer to other files, at offset 0. A file declared raw
 * that starts with one of them would be a different format to any reader that guesses.
 */
const REFERRING_MAGICS: ReadonlyArray<readonly [format: string, magic: Buffer]> = [
  ['qcow2', Buffer.from('QFI\xfb', 'latin1')],
  ['qed', Buffer.from('QED\0', 'latin1')],
  ['vmdk', Buffer.from('KDMV', 'latin1')],
  ['vmdk', Buffer.from('COWD', 'latin1')],
  ['vhdx', Buffer.from('vhdxfile', 'latin1')],
  ['vhd', Buffer.from('conectix', 'latin1')],
  ['cow', Buffer.from('OOOM', 'latin1')],
];
const VMDK_DESCRIPTOR = /^\s*#\s*Disk\s*Descriptor\s*File/i;

/**
 * Refuses a disk image that refers to anything outside its own file, and one that is not in
 * the format it is declared as. qemu-img never guesses here (`-f`), and never follows a
 * backing file for `info`. Formats qemu does not read as disk images (tar, squashfs…) pass.
 */
export async function inspectDiskImage(path: string, format: string, options: InspectOptions = {}): Promise<void> {
  const label = options.label ?? path;
  const qemuFormat = QEMU_FORMATS[format];
  if (qemuFormat === undefined) return;
  if (qemuFormat === 'raw') {
    await refuseDisguised(path, label);
    return;
  }
  const absolute = resolve(path); // a leading "/" keeps qemu from reading "json:" or "proto:" into the name
  const info = await qemuImgInfo(absolute, qemuFormat, label, options);
  const refusal = (what: string) =>
    new DiskImageError('UNSAFE_IMAGE', `${label} ${what}: a disk image must be self-contained, so it is refused`);
  const backing = info['backing-filename'] ?? info['full-backing-filename'];
  if (backing !== undefined) throw refusal(`has a backing file (${describe(backing)})`);
  const specific = isRecord(info['format-specific']) && isRecord(info['format-specific'].data) ? info['format-specific'].data : {};
  if (specific['data-file'] !== undefined) throw refusal(`has an external data file (${describe(specific['data-file'])})`);
  if (Array.isArray(specific.extents)) {
    const self = await realpath(absolute);
    for (const extent of specific.extents) {
      const file = isRecord(extent) ? extent.filename : undefined;
      const where = typeof file === 'string' ? await realpath(resolve(file)).catch(() => resolve(file)) : undefined;
      if (where !== self) throw refusal(`has an extent in another file (${describe(file)})`);
    }
  }
}

function describe(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function refuseDisguised(path: string, label: string): Promise<void> {
  const handle = await open(path, 'r');
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(512);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const match = REFERRING_MAGICS.find(([, magic]) => head.subarray(0, magic.length).equals(magic));
  const actual = match?.[0] ?? (VMDK_DESCRIPTOR.test(head.toString('latin1')) ? 'vmdk descriptor' : undefined);
  if (actual !== undefined) {
    throw new DiskImageError('BAD_IMAGE', `${label} is declared raw but is a ${actual} image: refused`);
  }
}

/** `qemu-img info --output=json -f <format>`; a file qemu cannot read as that format is refused. */
function qemuImgInfo(path: string, qemuFormat: string, label: string, options: InspectOptions): Promise<Record<string, unknown>> {
  const qemuImg = options.qemuImg ?? 'qemu-img';
  const signal = options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(INFO_TIMEOUT_MS)]) : AbortSignal.timeout(INFO_TIMEOUT_MS);
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(qemuImg, ['info', '--output=json', '-f', qemuFormat, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes <= MAX_INFO_BYTES) stdout.push(chunk);
      else child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2_000);
    });
    const onAbort = () => child.kill('SIGKILL');
    signal.addEventListener('abort', onAbort, { once: true });
    child.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(new DiskImageError('INSPECT_FAILED', `cannot run ${qemuImg} to inspect ${label}: ${err.message}`, { cause: err }));
    });
    child.once('close', (code) => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) return reject(signal.reason);
      if (stdoutBytes > MAX_INFO_BYTES) {
        return reject(new DiskImageError('BAD_IMAGE', `${label}: qemu-img info wrote more than ${MAX_INFO_BYTES} bytes about it; refused`));
      }
      if (code !== 0) {
        // qemu-img names the file by its full path: the label is enough.
        const reason = (stderr.trim().split('\n').pop() ?? '').replaceAll(path, basename(path));
        return reject(new DiskImageError('BAD_IMAGE', `${label} is not a readable ${qemuFormat} image${reason ? ` (${reason})` : ''}`));
      }
      try {
        const info: unknown = JSON.parse(Buffer.concat(stdout).toString('utf8'));
        if (!isRecord(info)) throw new TypeError('not a JSON object');
        resolvePromise(info);
      } catch (err) {
        reject(new DiskImageError('INSPECT_FAILED', `qemu-img info about ${label} is not JSON: ${toError(err).message}`, { cause: err }));
      }
    });
  });
}
