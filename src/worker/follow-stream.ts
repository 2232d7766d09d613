/**
 * Batches build output lines into WORK_DATA packets for a client that asked to follow a build:
 * at most one packet per interval and at most maxLinesPerInterval lines in it; lines over the
 * limit are counted and reported, never queued without bound. The log file stays complete.
 */
export class FollowStream {
  private lines: string[] = [];
  private skipped = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly send: (chunk: string) => void,
    private readonly intervalMs = 250,
    private readonly maxLinesPerInterval = 200,
  ) {}

  line(text: string): void {
    if (this.lines.length >= this.maxLinesPerInterval) this.skipped++;
    else this.lines.push(text);
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.skipped > 0) this.lines.push(`[nodepool-builder: ${this.skipped} lines skipped; the build log has them all]`);
    if (this.lines.length > 0) this.send(`${this.lines.join('\n')}\n`);
    this.lines = [];
    this.skipped = 0;
  }
}
