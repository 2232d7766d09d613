/**
 * The dashboard's GET paths on the scheduler's HTTP listener: the page at `/`, its stylesheet
 * and script (embedded in the binary), and `dashboard/data`, the live sections the script polls.
 */
import type { ServerResponse } from 'node:http';
import { ApiError } from '../api/api-error.ts';
import type { PageRoute } from '../api/server.ts';
import type { BuilderConfig } from '../config/schema.ts';
import { isImageId } from '../images/image-id.ts';
import type { StateStore } from '../scheduler/state-store.ts';
import type { Activity } from './activity.ts';
import css from './assets/dashboard.css' with { type: 'text' };
import script from './assets/dashboard.client.js' with { type: 'text' };
import { escapeHtml } from './html.ts';
import { FAILURES_SHOWN, PAGE_SIZE, StateIndex, diskimageNames, pageOf } from './model.ts';
import { type DashboardQuery, type JobView, page, sections } from './render.ts';

export interface DashboardOptions {
  readonly store: StateStore;
  readonly config: () => BuilderConfig;
  readonly activity: Activity;
  readonly clock?: () => number;
  readonly pageSize?: number;
  /** The page's title; default "nodepool-builder". */
  readonly title?: string;
}

/** The page loads only its own files and talks only to its own origin: nothing injected could run. */
const SECURITY = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function query(url: string | undefined): DashboardQuery {
  const params = new URL(url ?? '/', 'http://dashboard.invalid').searchParams;
  const image = params.get('image') ?? undefined;
  if (image !== undefined && !isImageId(image)) throw new ApiError('API_BAD_ID', `not a diskimage name: ${JSON.stringify(String(image).slice(0, 140))}`);
  const page = Number(params.get('page') ?? '1');
  return { image, filter: (params.get('q') ?? '').slice(0, 128), page: Number.isSafeInteger(page) && page >= 1 ? page : 1 };
}

function send(res: ServerResponse, status: number, type: string, body: string, cache = 'no-store'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': cache, 'content-length': Buffer.byteLength(body), ...SECURITY });
  res.end(body);
}

export function dashboardPages(options: DashboardOptions): Map<string, PageRoute> {
  const clock = options.clock ?? Date.now;
  const { store } = options;
  const pageSize = options.pageSize ?? PAGE_SIZE;
  const jobs = (): JobView[] =>
    options.activity.running().map((job) => {
      const upload = job.kind === 'upload' ? store.upload(job.id) : undefined;
      const build = job.kind === 'build' ? store.build(job.id) : upload ? store.build(upload.buildId) : undefined;
      return { ...job, diskimage: build?.diskimage, provider: upload?.provider, builder: job.kind === 'build' ? (job.builder ?? build?.builder) : undefined };
    });
  const title = options.title ?? 'nodepool-builder';
  const view = (url: string | undefined) => {
    const q = query(url);
    const now = clock();
    const config = options.config();
    const names = diskimageNames(config, store.diskimagesWithBuilds());
    const known = q.image === undefined || names.includes(q.image);
    const shown = known ? q : { ...q, image: undefined };
    // Only the records shown are read: a page's diskimages (and the newest failures), or one diskimage.
    const index = shown.image !== undefined ? new StateIndex(store.snapshotOf([shown.image])) : new StateIndex(store.snapshotOf(pageOf(names, shown.filter, shown.page, pageSize).shown), store.failedRecords(FAILURES_SHOWN * 4));
    return { q, now, known, s: sections(index, config, names, shown, jobs(), now, pageSize) };
  };
  return new Map<string, PageRoute>([
    [
      '/',
      (raw, res) => {
        const { q, now, known, s } = view(raw.url);
        if (!known) return send(res, 404, 'text/html; charset=utf-8', page({ ...s, matrix: `<h2>No diskimage ${escapeHtml(q.image ?? '')}</h2><p><a href="./">All images</a></p>` }, title, now));
        send(res, 200, 'text/html; charset=utf-8', page(s, q.image === undefined ? title : `${q.image} · ${title}`, now));
      },
    ],
    [
      '/dashboard/data',
      (raw, res) => {
        const { now, s } = view(raw.url);
        send(res, 200, 'application/json', JSON.stringify({ now: new Date(now).toISOString(), running: options.activity.running().length, sections: s }));
      },
    ],
    ['/dashboard.css', (_raw, res) => send(res, 200, 'text/css; charset=utf-8', css, 'public, max-age=300')],
    ['/dashboard.js', (_raw, res) => send(res, 200, 'text/javascript; charset=utf-8', script, 'public, max-age=300')],
  ]);
}
