import type { NeonConfig } from "@neondatabase/serverless";

/**
 * The `neonConfig` settings that point @neondatabase/serverless at the local endpoint, and nothing else: no
 * Node-only imports, so workers, Node and tests can all use it. Apply it with
 *
 *   Object.assign(neonConfig, neonLocalConfig(4444));
 *
 * which is the same as setting, by hand:
 *
 *   neonConfig.fetchEndpoint = "http://127.0.0.1:4444/sql";              // neon(): HTTP POST /sql
 *   neonConfig.wsProxy = (host, port) => `127.0.0.1:4444/v2?address=${host}:${port}`; // Pool/Client
 *   neonConfig.useSecureWebSocket = false;                                // ws://, not wss://
 *   neonConfig.forceDisablePgSSL = true;                                  // the default: no TLS inside the tunnel
 *
 * and in Node < 22 also `neonConfig.webSocketConstructor = ws` (from the `ws` package; pass it as an option).
 * Settings it leaves alone, on purpose:
 * - `pipelineConnect`: the default `"password"` works (the endpoint drops the pipelined password when the
 *   server does not ask for one, see pg-wire.ts); `false` works too and costs one round trip.
 * - `poolQueryViaFetch`: production's choice; both values work locally (`Pool.query()` then goes over `/sql`).
 * - `fetchConnectionCache`: deprecated (always on); assigning it only prints a warning.
 * The host part of the connection string does not matter locally: the endpoint maps every host onto its
 * configured PostgreSQL; user, password and database are honoured.
 */
export type NeonLocalSettings = Pick<
  NeonConfig,
  "fetchEndpoint" | "wsProxy" | "useSecureWebSocket" | "forceDisablePgSSL"
> &
  Partial<Pick<NeonConfig, "webSocketConstructor" | "pipelineConnect">>;

export interface NeonLocalConfigOptions {
  port: number;
  /** Where the endpoint listens; default 127.0.0.1. */
  host?: string;
  /** For runtimes without a global `WebSocket` (Node < 22): the `ws` package's `WebSocket`. */
  webSocketConstructor?: NeonConfig["webSocketConstructor"];
  /** Only set when given; see above. */
  pipelineConnect?: NeonConfig["pipelineConnect"];
}

export const neonLocalConfig = (portOrOptions: number | NeonLocalConfigOptions): NeonLocalSettings => {
  const opts = typeof portOrOptions === "number" ? { port: portOrOptions } : portOrOptions;
  const host = opts.host ?? "127.0.0.1";
  const authority = `${host.includes(":") ? `[${host}]` : host}:${opts.port}`;
  const settings: NeonLocalSettings = {
    fetchEndpoint: `http://${authority}/sql`,
    wsProxy: (dbHost, dbPort) => `${authority}/v2?address=${dbHost}:${dbPort}`,
    useSecureWebSocket: false,
    forceDisablePgSSL: true,
  };
  if (opts.webSocketConstructor !== undefined) settings.webSocketConstructor = opts.webSocketConstructor;
  if (opts.pipelineConnect !== undefined) settings.pipelineConnect = opts.pipelineConnect;
  return settings;
};
