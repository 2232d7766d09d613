/**
 * The dashboard's HTML, rendered on the server: the tables read the same with JavaScript off.
 * The script only re-fetches these sections (dashboard/data) and sends the operator's actions.
 */
import type { BuilderConfig } from '../config/schema.ts';
import { parseFailureText } from '../errors/job-failure.ts';
import type { RunningJob } from './activity.ts';
import { Html, type HtmlValue, html } from './html.ts';
import { type Cell, FAILURES_SHOWN, type Failure, type HistoryEntry, type Row, type StateIndex, history, pageOf, row } from './model.ts';

/** A running job with what its record says: the diskimage, the provider of an upload, the builder once known. */
export interface JobView extends RunningJob {
  readonly diskimage: string | undefined;
  readonly provider: string | undefined;
  readonly builder: string | undefined;
}

/** What one request asked for: a page of the matrix (filtered by name), or one diskimage. */
export interface DashboardQuery {
  readonly page: number;
  readonly filter: string;
  readonly image: string | undefined;
}

export interface Sections {
  readonly activity: string;
  readonly matrix: string;
  readonly failures: string;
  readonly history: string;
}

/** "3d 4h", "2h 5m", "4m 10s", "12s". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60)];
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const time = (ms: number, now: number): Html => html`<time datetime="${iso(ms)}" title="${iso(ms)}">${duration(now - ms)} ago</time>`;
const kib = (n: number): string => (n >= 1024 ? `${(n / 1024).toFixed(1)} MiB` : `${n.toFixed(0)} KiB`);
const imageLink = (image: string): Html => html`<a href="?image=${encodeURIComponent(image)}">${image}</a>`;
const button = (act: string, label: string, data: Record<string, string | undefined>): Html =>
  html`<button type="button" class="act" data-act="${act}"${Object.entries(data).map(([k, v]) => (v === undefined ? '' : html` data-${k}="${v}"`))}>${label}</button>`;

function pauseMark(by: 'config' | 'operator' | null): Html {
  return by ? html` <span class="paused" title="paused by ${by}">paused</span>` : html``;
}

function activity(jobs: readonly JobView[], now: number): Html {
  const builds = jobs.filter((j) => j.kind === 'build');
  const uploads = jobs.filter((j) => j.kind === 'upload');
  const others = jobs.filter((j) => j.kind !== 'build' && j.kind !== 'upload');
  const buildRows = builds.map((j) => {
    return html`<tr><td>${j.diskimage === undefined ? '' : imageLink(j.diskimage)}</td><td><code>${j.id}</code></td><td>${j.builder ?? 'not known yet'}</td><td>${duration(now - j.startedAt)}</td></tr>`;
  });
  const uploadRows = uploads.map((j) => {
    const p = j.progress;
    const percent = p && p.denominator > 0 ? Math.min(100, Math.floor((100 * p.numerator) / p.denominator)) : undefined;
    const bar = p && percent !== undefined
      ? html`<progress max="${p.denominator}" value="${p.numerator}">${percent}%</progress> <span class="num">${percent}% · ${kib(p.numerator)} of ${kib(p.denominator)}</span>`
      : html`<span class="num">starting</span>`;
    return html`<tr><td>${j.diskimage === undefined ? '' : imageLink(j.diskimage)}</td><td>${j.provider ?? ''}</td><td><code>${j.id}</code></td><td class="bar">${bar}</td><td class="num">${j.perSecond === undefined ? '' : `${kib(j.perSecond)}/s`}</td><td>${duration(now - j.startedAt)}</td></tr>`;
  });
  const otherRows = others.map((j) => html`<tr><td>${j.kind}</td><td><code>${j.id}</code></td><td>${j.functionName}</td><td>${duration(now - j.startedAt)}</td></tr>`);
  return html`<h2>Work in progress</h2>
${jobs.length === 0 ? html`<p class="quiet">Nothing running.</p>` : ''}
${builds.length ? html`<div class="scroll"><table id="running-builds"><caption>Builds</caption><thead><tr><th>Diskimage</th><th>Build</th><th>Builder</th><th>Elapsed</th></tr></thead><tbody>${buildRows}</tbody></table></div>` : ''}
${uploads.length ? html`<div class="scroll"><table id="running-uploads"><caption>Uploads</caption><thead><tr><th>Diskimage</th><th>Provider</th><th>Upload</th><th>Progress</th><th>Throughput</th><th>Elapsed</th></tr></thead><tbody>${uploadRows}</tbody></table></div>` : ''}
${others.length ? html`<div class="scroll"><table id="running-other"><caption>Deletions</caption><thead><tr><th>Kind</th><th>Id</th><th>Function</th><th>Elapsed</th></tr></thead><tbody>${otherRows}</tbody></table></div>` : ''}`;
}

function cell(c: Cell, image: string, now: number, actions: boolean): Html {
  if (!c.configured && !c.newest) return html`<td class="na" data-provider="${c.provider}">–</td>`;
  const upload = c.newest;
  const ready = c.newestReady;
  const state = upload ? html`<b class="st-${upload.state}">${upload.state}</b>` : html`<b class="st-none">none</b>`;
  const age = c.ageMs === undefined ? '' : html` <i>${duration(c.ageMs)}</i>`;
  const id = ready?.externalId ? html`<br><code>${ready.externalId}</code>` : '';
  const acts = actions && c.configured
    ? c.pausedBy === 'operator'
      ? button('unpause', 'Unpause', { image, provider: c.provider })
      : c.pausedBy === null
        ? button('pause', 'Pause', { image, provider: c.provider })
        : ''
    : '';
  return html`<td class="${c.freshness}${c.pausedBy ? ' is-paused' : ''}" data-provider="${c.provider}">${state}${age}${pauseMark(c.pausedBy)}${id}<br><small>${c.kept} kept</small>${acts ? html`<br>${acts}` : ''}</td>`;
}

function matrixTable(rows: readonly Row[], config: BuilderConfig, now: number, actions: boolean): Html {
  const head = html`<thead><tr><th>Diskimage</th>${config.providers.map((p) => html`<th>${p.name}</th>`)}</tr></thead>`;
  const body = rows.map((r) => {
    const build = r.newestBuild;
    return html`<tr data-image="${r.image}"><th scope="row">${imageLink(r.image)}${pauseMark(r.pausedBy)}${build ? html`<br><span class="sub">build <b class="st-${build.state}">${build.state}</b> ${time(build.stateAt, now)}</span>` : ''}${r.config ? '' : html`<br><span class="sub">not configured</span>`}</th>${r.cells.map((c) => cell(c, r.image, now, actions))}</tr>`;
  });
  return html`<div class="scroll"><table id="matrix-table" class="matrix">${head}<tbody>${body}</tbody></table></div>`;
}

function pager(query: DashboardQuery, total: number, pageSize: number): Html {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const href = (page: number): string => `?${new URLSearchParams({ ...(query.filter ? { q: query.filter } : {}), page: String(page) }).toString()}`;
  return html`<nav class="pager"><form method="get" action="./"><label>Filter <input name="q" value="${query.filter}" maxlength="128" size="16"></label> <button type="submit">Show</button></form>
<span>${total} diskimage${total === 1 ? '' : 's'} · page ${query.page} of ${pages}</span>
${query.page > 1 ? html`<a href="${href(query.page - 1)}" rel="prev">← previous</a>` : ''} ${query.page < pages ? html`<a href="${href(query.page + 1)}" rel="next">next →</a>` : ''}</nav>`;
}

function tail(reason: string): Html {
  const { reason: line, logTail } = parseFailureText(reason);
  return html`<span class="reason">${line}</span>${logTail.length ? html`<details><summary>last ${logTail.length} log line${logTail.length === 1 ? '' : 's'}</summary><pre class="log">${logTail.join('\n')}</pre></details>` : ''}`;
}

function failuresTable(failures: readonly Failure[], now: number, heading: string): Html {
  const rows = failures.map(
    (f) => html`<tr><td>${imageLink(f.image)}</td><td>${f.provider ?? 'build'}</td><td><code>${f.id}</code></td><td>${time(f.at, now)}${f.inARow ? html`<br><span class="sub">${f.inARow} in a row</span>` : ''}</td><td class="why">${tail(f.reason)}</td></tr>`,
  );
  return html`<h2>${heading}</h2>${failures.length === 0 ? html`<p class="quiet">No failures.</p>` : html`<div class="scroll"><table id="failures-table"><thead><tr><th>Diskimage</th><th>Where</th><th>Id</th><th>When</th><th>Reason</th></tr></thead><tbody>${rows}</tbody></table></div>`}`;
}

function historyTable(image: string, entries: readonly HistoryEntry[], now: number): Html {
  const rows = entries.map(({ kind, record, provider }) => {
    const externalId = 'externalId' in record ? record.externalId : undefined;
    const deletable = kind === 'upload' && (record.state === 'ready' || record.state === 'failed');
    return html`<tr><td>${time(Math.max(record.stateAt, record.createdAt), now)}</td><td>${kind}${provider ? html` to ${provider}` : ''}</td><td><code>${record.id}</code></td><td><b class="st-${record.state}">${record.state === 'gone' ? 'deleted' : record.state}</b></td><td>${externalId ? html`<code class="ext">${externalId}</code>` : ''}</td><td class="why">${record.reason ? tail(record.reason) : ''}${deletable ? button('delete', 'Delete upload', { upload: record.id, image }) : ''}</td></tr>`;
  });
  return html`<h2>History of ${image}</h2><div class="scroll"><table id="history-table"><thead><tr><th>When</th><th>What</th><th>Id</th><th>State</th><th>External id</th><th>Reason</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

/** Each live section's HTML for one query (the page and dashboard/data both use it). */
export function sections(index: StateIndex, config: BuilderConfig, names: readonly string[], query: DashboardQuery, jobs: readonly JobView[], now: number, pageSize: number): Sections {
  if (query.image !== undefined) {
    const image = query.image;
    const r = row(index, config, image, now);
    const actions = html`<p class="acts">${r.pausedBy === 'operator' ? button('unpause', 'Unpause builds', { image }) : r.pausedBy === null ? button('pause', 'Pause builds', { image }) : ''} ${button('build', 'Build now', { image })}</p>`;
    return {
      activity: activity(jobs, now).text,
      matrix: html`<h2>${image}</h2>${actions}${matrixTable([r], config, now, true)}`.text,
      failures: failuresTable(index.failures.filter((f) => f.image === image), now, 'Failures').text,
      history: historyTable(image, history(index, image), now).text,
    };
  }
  const { shown, matching } = pageOf(names, query.filter, query.page, pageSize);
  return {
    activity: activity(jobs, now).text,
    matrix: html`<h2>Images</h2>${pager(query, matching, pageSize)}${matrixTable(shown.map((n) => row(index, config, n, now)), config, now, false)}`.text,
    failures: failuresTable(index.failures.slice(0, FAILURES_SHOWN), now, 'Last failures').text,
    history: '',
  };
}

/** The whole page: the sections, the stylesheet and the script (both served from the binary). */
export function page(s: Sections, title: string, now: number): string {
  const part = (id: string, body: string): HtmlValue => (body ? html`<section id="${id}">${new Html(body)}</section>` : '');
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><link rel="stylesheet" href="dashboard.css"></head>
<body><header><h1><a href="./">${title}</a></h1><span id="updated" class="quiet">as of <time datetime="${iso(now)}">${iso(now)}</time></span><p id="notice" role="status" aria-live="polite"></p></header>
<main>${part('activity', s.activity)}${part('matrix', s.matrix)}${part('failures', s.failures)}${part('history', s.history)}</main>
<footer class="quiet">A cell: the newest upload's state, the age of the newest ready upload's build (green: fresh, within rebuild-age; yellow: ageing, up to twice it; red: stale, beyond), its external id, and how many uploads are kept. Writes need the API token; it is kept in this tab's session only.</footer>
<script src="dashboard.js" defer></script></body></html>
`.text;
}

