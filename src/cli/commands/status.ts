import { defineCommand } from 'citty';
import type { FunctionStatus, WorkerInfo } from '../../protocol/codec/admin-replies.ts';
import type { AdminParseError } from '../../protocol/codec/admin-errors.ts';
import { AdminClient } from '../../protocol/client/admin-client.ts';
import { ClientError } from '../../protocol/client/client-errors.ts';
import { type ServerAddress, describeServer } from '../../protocol/transport/connect-address.ts';
import { runCli } from '../cli-error.ts';
import { describeConnectFailure } from '../connect-failure.ts';
import { printable, printableJson } from '../../util/printable.ts';
import { serverArgs, serversFrom } from '../server-args.ts';
import { renderTable } from '../table.ts';

/** A reply line that did not parse and was left out. */
interface SkippedLine {
  readonly command: string;
  readonly line: string;
  readonly reason: string;
}

type ServerReport =
  | {
      readonly server: string;
      readonly version: string;
      readonly status: readonly FunctionStatus[];
      readonly workers: readonly WorkerInfo[];
      readonly skipped?: readonly SkippedLine[];
    }
  | { readonly server: string; readonly error: string };

/**
 * One connection per command: function names and client ids are not escaped, so a name holding
 * "\n.\n" could end one reply early, and on a shared connection its rest would be read as the
 * next command's reply.
 */
async function ask(server: ServerAddress): Promise<ServerReport> {
  const skipped: SkippedLine[] = [];
  const onMalformedRow = (error: AdminParseError, command: string) =>
    skipped.push({ command, line: error.line ?? '', reason: error.message });
  const clients = [0, 1, 2].map(() => new AdminClient(server, { onMalformedRow }));
  try {
    const [status, workers, version] = await Promise.all([clients[0]!.status(), clients[1]!.workers(), clients[2]!.version()]);
    return { server: describeServer(server), version, status, workers, ...(skipped.length ? { skipped } : {}) };
  } catch (err) {
    return { server: describeServer(server), error: describeConnectFailure(err) };
  } finally {
    for (const client of clients) client.close();
  }
}

function printReport(report: Extract<ServerReport, { version: string }>): void {
  process.stdout.write(`${printable(report.server)} (${printable(report.version)})\n\n`);
  const functions = [...report.status].sort((a, b) => a.function.localeCompare(b.function));
  process.stdout.write(
    `${renderTable(
      ['FUNCTION', 'QUEUED', 'RUNNING', 'WORKERS'],
      functions.map((f) => [f.function, String(f.total - f.running), String(f.running), String(f.workers)]),
    )}\n\n`,
  );
  const workers = report.workers.filter((w) => w.functions.length > 0);
  process.stdout.write(
    `${renderTable(
      ['WORKER', 'ADDRESS', 'FUNCTIONS'],
      workers.map((w) => [w.clientId, w.address, String(w.functions.length)]),
    )}\n\n`,
  );
}

export const statusCommand = defineCommand({
  meta: {
    name: 'status',
    description: "Show each job server's functions (queued, running, workers) and workers; exit 3 if one cannot be asked.",
  },
  args: { ...serverArgs },
  run: ({ args, rawArgs }) =>
    runCli(args.debug === true, async () => {
      const servers = serversFrom(args, rawArgs);
      const reports = await Promise.all(servers.map(ask));
      for (const report of reports) {
        if ('error' in report) process.stderr.write(`nodepool-builder: ${printable(report.server)}: ${printable(report.error)}\n`);
        else {
          for (const skip of report.skipped ?? []) {
            process.stderr.write(`nodepool-builder: ${printable(report.server)}: skipped a ${skip.command} line that does not parse: ${printable(skip.line)}\n`);
          }
        }
      }
      if (args.json) process.stdout.write(`${printableJson(reports, 2)}\n`);
      else for (const report of reports) if (!('error' in report)) printReport(report);
      const down = reports.filter((report) => 'error' in report).length;
      if (down) throw new ClientError('NO_SERVER', down === reports.length ? 'no job server could be asked' : `${down} of ${reports.length} job servers could not be asked`);
    }),
});
