import { run } from './run.ts';

export interface FunctionStatus {
  readonly total: number;
  readonly running: number;
  readonly workers: number;
}

interface Address {
  readonly host: string;
  readonly port: number;
}

/** `gearadmin --status`, read with the real CLI: an independent view of the server's queues. */
export async function gearadminStatus(server: Address): Promise<Map<string, FunctionStatus>> {
  const { stdout } = await run('gearadmin', ['-h', server.host, '-p', String(server.port), '--status']);
  const status = new Map<string, FunctionStatus>();
  for (const line of stdout.split('\n')) {
    const [name, total, running, workers] = line.split('\t');
    if (name && workers !== undefined) status.set(name, { total: Number(total), running: Number(running), workers: Number(workers) });
  }
  return status;
}

/** `gearadmin --workers`: one entry per connection, with its client id and functions. */
export async function gearadminWorkers(server: Address): Promise<{ clientId: string; functions: string[] }[]> {
  const { stdout } = await run('gearadmin', ['-h', server.host, '-p', String(server.port), '--workers']);
  return stdout
    .split('\n')
    .filter((line) => line.includes(' : ') || line.endsWith(' :'))
    .map((line) => {
      const [head, tail = ''] = line.split(' :');
      return { clientId: head!.split(' ')[2] ?? '', functions: tail.trim() ? tail.trim().split(' ') : [] };
    });
}
