import { type Hash, createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { JobFailure } from '../errors/job-failure.ts';
import { toError } from '../errors/thrown.ts';

export type HashAlgorithm = 'md5' | 'sha256' | 'sha512';
export type Digests = Readonly<Partial<Record<HashAlgorithm, string>>>;

export interface HashingFileOptions {
  readonly path: string;
  /** The size the repository recorded: the file must still have exactly this many bytes. */
  readonly size: number;
  readonly algorithms: readonly HashAlgorithm[];
  /** Called with the bytes handed to the socket so far. */
  readonly onProgress?: (sent: number) => void;
  readonly chunkSize?: number;
}

/** Chunks in flight at most: one in the socket, one read ahead by the stream, one being read. */
const RING_SIZE = 4;
/** Above any socket's writable high-water mark (Node 16 KiB, Bun 64 KiB): see chunks(). */
const MIN_CHUNK = 256 * 1024;

/**
 * Streams a file in fixed-size chunks, hashing each chunk on its way out, so an upload is
 * never buffered and its checksums cost no second read. Each call to chunks() starts over
 * (a retried upload), with fresh hashes; digests() gives the last complete pass.
 */
export class HashingFile {
  private complete: Digests | undefined;

  constructor(private readonly options: HashingFileOptions) {}

  /**
   * Opens the file, checks its size and reads its first bytes: a file that is gone, unreadable
   * or changed fails here, before anything is created in the cloud, and is never retried.
   */
  async check(): Promise<void> {
    const { path, size } = this.options;
    const handle = await open(path, 'r').catch((err: unknown) => {
      throw unreadable(path, err);
    });
    try {
      const { size: now } = await handle.stat();
      if (now !== size) throw changed(path, `it has ${now} bytes, not ${size}`);
      await handle.read(Buffer.alloc(Math.min(size, 4096)), 0, Math.min(size, 4096), 0).catch((err: unknown) => {
        throw unreadable(path, err);
      });
    } finally {
      await handle.close();
    }
  }

  /** The digests of the last pass that read the whole file; undefined before one has. */
  digests(): Digests | undefined {
    return this.complete;
  }

  /**
   * The file's bytes, in chunks read into a small ring of reused buffers: fresh 1 MiB buffers
   * cost a page fault per 4 KiB, which halved throughput. A chunk's buffer is read into again
   * when the consumer asks for the chunk RING_SIZE after it: it must be done with it by then. A socket is:
   * undici waits for 'drain' whenever write() returns false, and write() of a chunk larger
   * than the socket's high-water mark returns true only once the kernel has all of it. Were
   * that ever wrong, Glance's own checksums would differ from ours and the upload would fail.
   */
  async *chunks(): AsyncGenerator<Uint8Array> {
    const { path, size, algorithms, onProgress } = this.options;
    const chunkSize = Math.max(this.options.chunkSize ?? 1 << 20, MIN_CHUNK);
    const hashes: Array<[HashAlgorithm, Hash]> = algorithms.map((algorithm) => [algorithm, createHash(algorithm)]);
    this.complete = undefined;
    const ring = Array.from({ length: Math.min(RING_SIZE, Math.ceil(size / chunkSize)) }, () => Buffer.allocUnsafe(chunkSize));
    const handle = await open(path, 'r').catch((err: unknown) => {
      throw unreadable(path, err);
    });
    const finish = async (): Promise<void> => {
      const { size: now } = await handle.stat();
      if (now !== size) throw changed(path, `it has ${now} bytes, not ${size}`);
      this.complete = Object.fromEntries(hashes.map(([algorithm, hash]) => [algorithm, hash.digest('hex')]));
    };
    try {
      for (let position = 0, n = 0; position < size; n++) {
        const buffer = ring[n % ring.length]!;
        const { bytesRead } = await handle.read(buffer, 0, Math.min(chunkSize, size - position), position).catch((err: unknown) => {
          throw unreadable(path, err);
        });
        if (bytesRead === 0) throw changed(path, `it ended after ${position} of ${size} bytes`);
        const chunk = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
        for (const [, hash] of hashes) hash.update(chunk);
        position += bytesRead;
        // Finished before the last chunk goes out: once the server has every byte it may answer,
        // and the consumer may then stop without asking this generator for its end.
        if (position >= size) await finish();
        onProgress?.(position);
        yield chunk;
      }
      if (size === 0) await finish();
    } finally {
      await handle.close();
    }
  }
}

/**
 * Reads the whole file once more, hashing it: the check of a file that streamed out unhashed to
 * a cloud that computed no checksum. Fails like chunks() on a file that is gone or changed size.
 */
export async function hashWholeFile(path: string, size: number, algorithms: readonly HashAlgorithm[], signal: AbortSignal): Promise<Digests> {
  const file = new HashingFile({ path, size, algorithms });
  for await (const _chunk of file.chunks()) signal.throwIfAborted();
  return file.digests() ?? {};
}

function changed(path: string, how: string): JobFailure {
  return new JobFailure('LOCAL_FILE_CHANGED', `${path} changed since it was built: ${how}`);
}

/** A local read error is the host's problem, not the cloud's: the job fails at once, without retries. */
function unreadable(path: string, err: unknown): JobFailure {
  return new JobFailure('LOCAL_FILE_UNREADABLE', `cannot read ${path}: ${toError(err).message}`, { cause: err });
}
