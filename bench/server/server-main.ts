/**
 * Our job server alone in its own process, as the benchmark runs it:
 *   bun bench/server/server-main.ts <port>
 * Prints "READY <port>" once it listens.
 */
import { GearmanServer } from '../../src/protocol/server/index.ts';

const server = new GearmanServer({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0) });
const { port } = await server.listen();
process.stdout.write(`READY ${port}\n`);
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
