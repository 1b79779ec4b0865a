import type { IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import { errorResponse, StartupPasswordFilter } from "./pg-wire.ts";
import type { PostgresTarget } from "./target.ts";

/**
 * The WebSocket side, used by `Pool` and `Client` of @neondatabase/serverless: the client opens
 * `ws://<wsProxy(host, port)>` (e.g. `127.0.0.1:4444/v2?address=db.example:5432`) and speaks the raw
 * PostgreSQL wire protocol in binary messages; the proxy pipes those bytes to a TCP socket and back.
 *
 * The `address` the client names is logged, never dialled: every connection goes to the configured server
 * (see target.ts). Neon's own proxy serves `/v2` and the open-source wsproxy `/v1`; both paths are accepted.
 */
export const WS_PATHS = new Set(["/v1", "/v2"]);

/** Bytes buffered towards the browser/worker before Postgres reads are paused (backpressure). */
const HIGH_WATER_MARK = 1024 * 1024;

export interface WsProxy {
  /** Wire to `server.on("upgrade", ...)`. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): Promise<void>;
}

export interface WsProxyOptions {
  target: PostgresTarget;
  logger: Logger;
  connectTimeoutMs?: number;
}

const rejectUpgrade = (socket: Duplex, status: 400 | 404, message: string): void => {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${status === 404 ? "Not Found" : "Bad Request"}\r\nConnection: close\r\n` +
      `Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
};

const toBuffer = (data: RawData): Buffer => {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
};

export const createWsProxy = (opts: WsProxyOptions): WsProxy => {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  const sockets = new Set<Socket>();
  const { target, logger } = opts;

  const pipe = (ws: WebSocket, requestedAddress: string | null): void => {
    const log = logger.child({ requested: requestedAddress ?? undefined });
    const filter = new StartupPasswordFilter();
    const tcp = connect({ host: target.host, port: target.port, timeout: opts.connectTimeoutMs ?? 5_000 });
    sockets.add(tcp);
    let connected = false;
    const pending: Buffer[] = [];

    let awaitingDrain = false;

    const toServer = (bytes: Buffer): void => {
      if (bytes.length === 0 || tcp.writableEnded) return;
      if (!connected) {
        pending.push(bytes);
        return;
      }
      if (!tcp.write(bytes) && !awaitingDrain) {
        awaitingDrain = true;
        ws.pause();
        tcp.once("drain", () => {
          awaitingDrain = false;
          ws.resume();
        });
      }
    };

    ws.on("message", (data) => toServer(filter.fromClient(toBuffer(data))));

    tcp.once("connect", () => {
      connected = true;
      tcp.setTimeout(0);
      tcp.setNoDelay(true);
      log.debug("websocket piped to Postgres");
      for (const bytes of pending.splice(0)) toServer(bytes);
    });

    tcp.on("data", (chunk) => {
      toServer(filter.fromServer(chunk));
      if (ws.readyState !== ws.OPEN) return;
      ws.send(chunk, { binary: true }, () => {
        if (tcp.isPaused() && ws.bufferedAmount < HIGH_WATER_MARK) tcp.resume();
      });
      if (ws.bufferedAmount >= HIGH_WATER_MARK) tcp.pause();
    });

    tcp.on("timeout", () => {
      tcp.destroy(new Error(`connection timed out after ${opts.connectTimeoutMs ?? 5_000} ms`));
    });

    tcp.on("error", (error) => {
      if (connected) {
        log.warn({ err: error }, "Postgres socket failed; closing the websocket");
        ws.terminate();
        return;
      }
      // Answer in the protocol the client speaks: pg then rejects connect() (or the first query, when
      // pipelining) with this message and SQLSTATE, instead of "Connection terminated unexpectedly".
      const message = `local Neon endpoint could not reach PostgreSQL at ${target.host}:${target.port}: ${error.message}`;
      log.warn({ err: error }, "could not reach Postgres for a websocket client");
      if (ws.readyState === ws.OPEN) {
        ws.send(errorResponse({ severity: "FATAL", code: "08001", message }), { binary: true }, () =>
          ws.close(1011),
        );
      }
    });

    tcp.on("close", () => {
      sockets.delete(tcp);
      if (connected && ws.readyState === ws.OPEN) ws.close(1000);
    });

    ws.on("close", () => {
      tcp.end();
      // A client that vanished without a goodbye must not keep a server session open forever.
      setTimeout(() => tcp.destroy(), 1_000).unref();
    });

    ws.on("error", (error) => {
      log.warn({ err: error }, "websocket failed; closing the Postgres socket");
      tcp.destroy();
    });
  };

  return {
    handleUpgrade(request, socket, head) {
      const url = new URL(request.url ?? "/", "http://localhost");
      if (!WS_PATHS.has(url.pathname)) {
        rejectUpgrade(socket, 404, `no websocket endpoint at ${url.pathname}; use /v2?address=host:port`);
        return;
      }
      const address = url.searchParams.get("address");
      if (address !== null && !/^[^\s/?#]+:\d{1,5}$/.test(address)) {
        rejectUpgrade(socket, 400, "address must look like host:port");
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => pipe(ws, address));
    },
    async close() {
      for (const ws of wss.clients) ws.terminate();
      for (const tcp of sockets) tcp.destroy();
      await new Promise<void>((resolve, reject) => wss.close((error) => (error ? reject(error) : resolve())));
    },
  };
};
