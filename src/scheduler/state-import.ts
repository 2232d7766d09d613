import type { Database } from 'bun:sqlite';
import type { StateDocument } from './state-document.ts';
import { insertBuildRow, toProvider } from './state-rows.ts';

/** Writes an exported document's records into tables the caller has emptied, inside the caller's transaction. */
export function insertDocumentRows(db: Database, document: StateDocument): void {
  if (document.systemId !== undefined) db.query('INSERT INTO meta (key, value) VALUES (?, ?)').run('system-id', document.systemId);
  for (const b of document.builds) {
    insertBuildRow(db, {
      id: b.id,
      diskimage: b.diskimage,
      state: b.state,
      builder: b.builder ?? null,
      formats: JSON.stringify(b.formats),
      created_at: b.createdAt,
      state_at: b.stateAt,
      ready_at: b.readyAt ?? null,
      reason: b.reason ?? null,
    });
  }
  const insertUpload = db.query(
    `INSERT INTO uploads (id, build_id, provider, state, external_id, external_name, created_at, state_at, ready_at, reason)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const u of document.uploads) {
    insertUpload.run(u.id, u.buildId, u.provider, u.state, u.externalId ?? null, u.externalName ?? null, u.createdAt, u.stateAt, u.readyAt ?? null, u.reason ?? null);
  }
  for (const p of document.pauses) db.query('INSERT INTO pauses (diskimage, provider, paused_at) VALUES (?, ?, ?)').run(p.diskimage, toProvider(p.provider), p.pausedAt);
  for (const b of document.backoffs) {
    db.query('INSERT INTO backoffs (diskimage, provider, failures, failed_at, retry_at, reason) VALUES (?, ?, ?, ?, ?, ?)').run(
      b.diskimage,
      toProvider(b.provider),
      b.failures,
      b.failedAt,
      b.retryAt,
      b.reason,
    );
  }
  for (const r of document.buildRequests) db.query('INSERT INTO build_requests (diskimage, requested_at) VALUES (?, ?)').run(r.diskimage, r.requestedAt);
}
