import { defineCommand } from 'citty';
import { AdminClient } from '../../protocol/client/admin-client.ts';
import { describeServer } from '../../protocol/transport/connect-address.ts';
import { runCli } from '../cli-error.ts';
import { serverArgs, serversFrom } from '../server-args.ts';
import { renderTable } from '../table.ts';

export const statusCommand = defineCommand({
  meta: { name: 'status', description: "Show each job server's functions (queued, running, workers) and its workers." },
  args: { ...serverArgs },
  run: ({ args, rawArgs }) =>
    runCli(args.debug === true, async () => {
      const reports = [];
      for (const server of serversFrom(args, rawArgs)) {
        const admin = new AdminClient(server);
        try {
          const [status, workers, version] = await Promise.all([admin.status(), admin.workers(), admin.version()]);
          reports.push({ server: describeServer(server), version, status, workers });
        } finally {
          admin.close();
        }
      }
      if (args.json) {
        process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
        return;
      }
      for (const report of reports) {
        process.stdout.write(`${report.server} (${report.version})\n\n`);
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
    }),
});
