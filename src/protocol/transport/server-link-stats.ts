/** How the connections to one job server are doing, for metrics. */
export interface ServerLinkStats {
  /** As describeServer writes it: "host:port", "tls://host:port". */
  readonly server: string;
  /** Every connection of this process to the server is up. */
  readonly connected: boolean;
  /** Reconnects after a connection that had been up was lost, over all connections, since the start. */
  readonly reconnects: number;
}
