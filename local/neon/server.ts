import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { type Logger, pino } from "pino";
import { createSqlApp } from "./http-sql.ts";
import { createPoolRegistry } from "./pools.ts";
import { parsePostgresTarget } from "./target.ts";
import { createWsProxy } from "./ws-proxy.ts";

export { neonLocalConfig } from "./client-config.ts";

export interface NeonProxyOptions {
  /** The real PostgreSQL server, e.g. `postgres://postgres@127.0.0.1:5432/test`; only its host and port are used. */
  postgresUrl: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  logger?: Logger;
}

export interface NeonProxy {
  /** `http://host:port`; `/sql` answers `neon()`, `/v2` (and `/v1`) the WebSocket `Pool`/`Client`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Starts a local endpoint that speaks the Neon serverless driver's two protocols (HTTP `/sql` and the
 * WebSocket proxy) in front of a real PostgreSQL, on one port. Point a client at it with `neonLocalConfig`.
 */
export const startNeonProxy = async (opts: NeonProxyOptions): Promise<NeonProxy> => {
  const logger = opts.logger ?? pino({ level: "silent" });
  const target = parsePostgresTarget(opts.postgresUrl);
  const pools = createPoolRegistry({ target, logger });
  const wsProxy = createWsProxy({ target, logger });
  const app = createSqlApp({ pools, target, logger });

  // Idle keep-alive connections stay open longer than clients keep them (see the Redis endpoint).
  const server = createAdaptorServer({
    fetch: app.fetch,
    serverOptions: { keepAliveTimeout: 65_000 },
  }) as Server;
  server.on("upgrade", (request, socket, head) => {
    if (request.headers.upgrade?.toLowerCase() !== "websocket") {
      socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    wsProxy.handleUpgrade(request, socket, head);
  });

  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  logger.info({ port, host, postgres: `${target.host}:${target.port}` }, "local Neon endpoint listening");

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve, reject) =>
          server.close((error) => (error ? reject(error) : resolve())),
        );
        server.closeAllConnections();
        await wsProxy.close();
        await stopped;
        await pools.close();
        logger.info({ port }, "local Neon endpoint closed");
      })();
      return closing;
    },
  };
};
