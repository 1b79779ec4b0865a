import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Admin } from "@platformatic/kafka";
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { z } from "zod";
import type { Db } from "../../../db/node-client.ts";
import { type CheckResult, checkWithin, unavailable } from "../../../domain/readiness.ts";
import type { PaymentActions } from "../payment/simulator-actions.ts";
import { describeError } from "../runtime/failures.ts";

export type Readiness = Record<"postgres" | "kafka", CheckResult>;

/**
 * Whether the consumers can work: Postgres answers `select 1` through the process's pool, and a
 * Kafka broker answers a metadata request, each within `timeoutMs` (a hung dependency is a timeout).
 */
export const checkReadiness = async (
  o: { db: Db; admin: Admin; timeoutMs: number },
  log: Logger,
): Promise<Readiness> => {
  const check = (name: string, probe: () => Promise<unknown>): Promise<CheckResult> =>
    checkWithin(o.timeoutMs, name, probe, (error) =>
      log.warn({ dependency: name, err: describeError(error) }, "readiness check failed"),
    );
  const [postgres, kafka] = await Promise.all([
    check("postgres", () => o.db.execute(sql`select 1`)),
    // forceUpdate: without it the client answers from its cached metadata, even with every broker down.
    check("kafka", () => o.admin.metadata({ topics: [], forceUpdate: true })),
  ]);
  return { postgres, kafka };
};

export interface OpsServerOptions {
  /** 0 picks a free port (tests, several processes on one machine). */
  port: number;
  host: string;
  registry: Registry;
  readiness: () => Promise<Record<string, CheckResult>>;
  log: Logger;
  /** With the simulated processor: the shopper's 3-D Secure outcome, `POST /simulator/payments/:orderId/action`. */
  paymentActions?: PaymentActions;
}

const ACTION_PATH = /^\/simulator\/payments\/([A-Za-z0-9_-]{1,64})\/action$/;

const readJson = async (req: IncomingMessage): Promise<unknown> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 4_096) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return undefined;
  }
};

const ActionSchema = z.strictObject({ result: z.enum(["succeeded", "failed"]) });

export interface OpsServer {
  url: string;
  close(): Promise<void>;
}

const json = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void => {
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
};

/**
 * The operator's endpoints of a consumers process: `GET /healthz` (liveness: the process answers),
 * `GET /readyz` (200, or 503 naming the dependencies down, without their errors) and `GET /metrics`
 * (Prometheus text format); with the simulated processor, also the local stand-in for a shopper's
 * 3-D Secure step (`POST /simulator/payments/:orderId/action` with `{"result":"succeeded"|"failed"}`).
 */
export const startOpsServer = async (o: OpsServerOptions): Promise<OpsServer> => {
  const routes: Record<string, (res: ServerResponse) => Promise<void>> = {
    "/healthz": async (res) => json(res, 200, { ok: true }),
    "/readyz": async (res) => {
      const checks = await o.readiness();
      const down = unavailable(checks);
      if (down.length === 0) return json(res, 200, { ok: true, checks });
      json(res, 503, { ok: false, unavailable: down, checks }, { "retry-after": "5" });
    },
    "/metrics": async (res) => {
      const text = await o.registry.metrics();
      res.writeHead(200, { "content-type": o.registry.contentType }).end(text);
    },
  };
  const completeAction = async (req: IncomingMessage, res: ServerResponse, orderId: string) => {
    const body = ActionSchema.safeParse(await readJson(req));
    if (!body.success) {
      return json(res, 400, { ok: false, error: 'expected {"result":"succeeded"} or {"result":"failed"}' });
    }
    if (!(await o.paymentActions?.complete(orderId, body.data.result === "succeeded"))) {
      return json(res, 404, { ok: false, error: `no payment of ${orderId} waits for the shopper` });
    }
    json(res, 202, { ok: true, orderId, result: body.data.result });
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const action = o.paymentActions && req.method === "POST" ? ACTION_PATH.exec(path) : null;
    if (action?.[1]) {
      const orderId = action[1];
      completeAction(req, res, orderId).catch((error: unknown) => {
        o.log.error({ err: error, path }, "simulated payment action failed");
        if (!res.headersSent) json(res, 500, { ok: false, error: "internal error" });
      });
      return;
    }
    const route = req.method === "GET" ? routes[path] : undefined;
    if (!route) return json(res, 404, { ok: false, error: `no route ${req.method} ${path}` });
    route(res).catch((error: unknown) => {
      o.log.error({ err: error, path }, "operations endpoint failed");
      if (!res.headersSent) json(res, 500, { ok: false, error: "internal error" });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host === "0.0.0.0" ? "127.0.0.1" : o.host.includes(":") ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};
