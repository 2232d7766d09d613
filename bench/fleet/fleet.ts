/**
 * The fleet's shape, shared by the bench and its children: worker processes × connections ×
 * functions per connection, every function distinct ("image-upload:<uuid>", stable across runs).
 */
import { createHash } from 'node:crypto';

export interface FleetShape {
  readonly host: string;
  readonly port: number;
  readonly processes: number;
  readonly connsPerProcess: number;
  readonly functionsPerConn: number;
}

export const totalConns = (shape: FleetShape): number => shape.processes * shape.connsPerProcess;
export const totalFunctions = (shape: FleetShape): number => totalConns(shape) * shape.functionsPerConn;

/** Function `index` of the fleet: connection `index / functionsPerConn` registers it. */
export function functionName(index: number): string {
  const hex = createHash('md5').update(`fleet-${index}`).digest('hex');
  return `image-upload:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The client ID of fleet connection `conn` (what `workers` lists). */
export const clientIdOf = (conn: number): string => `fleet-${conn}`;
