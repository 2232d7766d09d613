/**
 * A real Prometheus server (Debian's /usr/bin/prometheus) for a test: its own port, config and
 * TSDB in a temp dir, scraping the given targets every second.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { eventually, stopChild } from './run.ts';

export interface ScrapeJob {
  readonly name: string;
  /** "host:port"; the path is /metrics. */
  readonly target: string;
}

/** One series of an instant query's vector result. */
export interface QuerySeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PrometheusServer {
  readonly url: string;
  /** An instant query through the HTTP API (`/api/v1/query`). */
  query(promql: string): Promise<QuerySeries[]>;
  log(): string;
  close(): Promise<void>;
}

interface QueryReply {
  readonly status: string;
  readonly error?: string;
  readonly data?: { readonly resultType: string; readonly result: readonly { metric: Record<string, string>; value: [number, string] }[] };
}

export async function startPrometheus(jobs: readonly ScrapeJob[]): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'prometheus-'));
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      ...jobs.flatMap((job) => [`  - job_name: ${JSON.stringify(job.name)}`, '    static_configs:', `      - targets: [${JSON.stringify(job.target)}]`]),
      '',
    ].join('\n'),
  );
  const logFile = join(dir, 'prometheus.log');
  writeFileSync(logFile, '');
  const child: ChildProcess = spawn(
    '/usr/bin/prometheus',
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (chunk: Buffer) => writeFileSync(logFile, chunk, { flag: 'a' }));
  const url = `http://127.0.0.1:${port}`;
  const log = (): string => readFileSync(logFile, 'utf8');
  const close = async (): Promise<void> => {
    await stopChild(child, 'SIGTERM', 10_000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.status === 200, 60_000, 'prometheus to be ready');
  } catch (err) {
    const output = log();
    await close();
    throw new Error(`${String(err)}\n${output}`);
  }
  return {
    url,
    log,
    close,
    async query(promql) {
      const reply = (await (await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`)).json()) as QueryReply;
      if (reply.status !== 'success' || reply.data?.resultType !== 'vector') throw new Error(`query ${promql}: ${reply.error ?? JSON.stringify(reply)}`);
      return reply.data.result.map((series) => ({ metric: series.metric, value: Number(series.value[1]) }));
    },
  };
}
