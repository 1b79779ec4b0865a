import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { KafkaSecurity } from "../../kafka-client/security.ts";
import { createApp } from "./app.ts";
import { configError } from "./config.ts";
import { createKafkaGateway } from "./kafka.ts";
import { createRestMetrics } from "./metrics.ts";
import { type KafkaRestUser, KafkaRestUsersSchema } from "./users.ts";

export interface StartKafkaRestOptions {
  brokers: string[];
  /** A managed cluster's SASL login and TLS (services/kafka-client). */
  security?: KafkaSecurity;
  /**
   * Every login and what it may do: `produce` and `consume` list topic names or globs (`*`), `metrics`
   * opens `GET /metrics`; nothing else is allowed. Validated like `KAFKA_REST_USERS` (a ConfigError
   * lists every problem).
   */
  users: readonly KafkaRestUser[];
  /** 0 picks any free port. Default 8082. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Upper bound for the Kafka work behind one HTTP request. Default 5000 ms. */
  requestTimeoutMs?: number;
  onServerError?: (err: unknown, path: string) => void;
}

export interface KafkaRestServer {
  url: string;
  /** Stops accepting requests, lets running ones finish, then disconnects the Kafka clients. */
  close(): Promise<void>;
}

export async function startKafkaRest(opts: StartKafkaRestOptions): Promise<KafkaRestServer> {
  const users = KafkaRestUsersSchema.safeParse(opts.users);
  if (!users.success) throw configError(users.error, "users");
  const host = opts.host ?? "127.0.0.1";
  const metrics = createRestMetrics();
  const kafka = createKafkaGateway({
    brokers: opts.brokers,
    ...(opts.security ? { security: opts.security } : {}),
    timeoutMs: opts.requestTimeoutMs,
    onSend: metrics.observeSend,
  });
  const app = createApp({
    kafka,
    metrics,
    users: users.data,
    onServerError: opts.onServerError,
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    // Idle keep-alive connections outlive a load balancer's or a client's (60 s is common), so no
    // client reuses a connection the server is closing.
    const s = serve(
      {
        fetch: app.fetch,
        port: opts.port ?? 8082,
        hostname: host,
        serverOptions: { keepAliveTimeout: 65_000 },
      },
      () => resolve(s),
    );
    s.once("error", (err) => {
      void kafka.close();
      reject(err);
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    close: () => {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          if ("closeIdleConnections" in server) server.closeIdleConnections();
        });
        await kafka.close();
      })();
      return closing;
    },
  };
}
