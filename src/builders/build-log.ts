import { type WriteStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** What a failed build reports of its log: the dashboard shows at most 50 lines. */
export const TAIL_LINES = 50;

/** A build's output: the complete log file on disk, the last lines for error reports, and listeners. */
export class BuildLog {
  private readonly tailLines: string[] = [];
  private readonly listeners: ((line: string) => void)[] = [];
  /** Set when writing the file failed (a full disk): the build goes on, the error is reported. */
  writeError: Error | undefined;

  private constructor(
    readonly path: string,
    private readonly stream: WriteStream,
  ) {
    stream.on('error', (err) => {
      this.writeError ??= err;
    });
  }

  static async open(path: string): Promise<BuildLog> {
    await mkdir(dirname(path), { recursive: true });
    const stream = createWriteStream(path, { flags: 'a', mode: 0o640 });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    return new BuildLog(path, stream);
  }

  onLine(listener: (line: string) => void): void {
    this.listeners.push(listener);
  }

  line(text: string): void {
    if (!this.writeError) this.stream.write(`${text}\n`);
    this.tailLines.push(text);
    if (this.tailLines.length > TAIL_LINES) this.tailLines.shift();
    for (const listener of this.listeners) listener(text);
  }

  tail(): readonly string[] {
    return this.tailLines;
  }

  close(): Promise<void> {
    if (this.writeError) {
      this.stream.destroy();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.stream.end(() => resolve()));
  }
}
