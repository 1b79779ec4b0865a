import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Admin } from "@platformatic/kafka";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeDb } from "../../../db/node-client.ts";
import { type PostgresServer, startPostgresServer } from "../../../local/postgres-server.ts";
import { freePort } from "../../../local/processes.ts";
import { kafkaClientOptions } from "../runtime/kafka.ts";
import { guardPool } from "../runtime/pool-guard.ts";
import { brokers, testLog, waitUntil } from "../test-support/kafka.ts";
import { checkReadiness, type OpsServer, startOpsServer } from "./ops-server.ts";

/**
 * /readyz against a PostgreSQL of this file's own (stopped and started here, so no other test loses
 * its database), a server that accepts connections and never answers (a hung Postgres), and a port
 * where no Kafka broker listens.
 */
const dataDir = mkdtempSync(join(tmpdir(), "ops-readyz-pg-"));
const TIMEOUT_MS = 800;
const admins: Admin[] = [];
const closers: (() => Promise<unknown>)[] = [];
let postgres: PostgresServer | undefined;
let pgPort = 0;

const adminOf = (list: string[]): Admin => {
  const admin = new Admin({ ...kafkaClientOptions(list), clientId: `readyz-test-${randomUUID()}` });
  admins.push(admin);
  return admin;
};

/** An operations server whose readiness probes `databaseUrl` and the brokers `kafka`. */
const serve = async (databaseUrl: string, kafka: string[]): Promise<OpsServer> => {
  const { db, pool } = createNodeDb(databaseUrl, { max: 2, connectionTimeoutMillis: 5_000 });
  guardPool(pool, testLog);
  const admin = adminOf(kafka);
  const server = await startOpsServer({
    port: 0,
    host: "127.0.0.1",
    registry: new Registry(),
    readiness: () => checkReadiness({ db, admin, timeoutMs: TIMEOUT_MS }, testLog),
    log: testLog,
  });
  closers.push(
    () => server.close(),
    () => pool.end(),
  );
  return server;
};

const startPostgres = async (): Promise<void> => {
  postgres = await startPostgresServer({ port: pgPort, dataDir });
};

beforeAll(async () => {
  pgPort = await freePort();
  await startPostgres();
});
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await Promise.all(admins.map((a) => a.close()));
  await postgres?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const get = async (url: string) => {
  const response = await fetch(url);
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
};

describe("consumers' /healthz and /readyz", () => {
  it("is ready while Postgres and Kafka answer; not ready while Postgres is stopped, and ready again after", async () => {
    const server = await serve(`postgres://postgres@127.0.0.1:${pgPort}/postgres`, brokers());
    expect(await get(`${server.url}/healthz`)).toMatchObject({ status: 200, body: { ok: true } });
    const ready = await get(`${server.url}/readyz`);
    expect(ready).toMatchObject({
      status: 200,
      body: { ok: true, checks: { postgres: { ok: true }, kafka: { ok: true } } },
    });

    await postgres?.stop();
    postgres = undefined;
    const down = await get(`${server.url}/readyz`);
    expect(down.status).toBe(503);
    expect(down.headers.get("retry-after")).toBe("5");
    expect(down.body).toMatchObject({
      ok: false,
      unavailable: ["postgres"],
      checks: { postgres: { ok: false, reason: "error" }, kafka: { ok: true } },
    });
    // Liveness is not readiness: the process still answers.
    expect((await get(`${server.url}/healthz`)).status).toBe(200);

    await startPostgres();
    await waitUntil(
      "ready again once Postgres is back",
      async () => (await fetch(`${server.url}/readyz`)).status === 200,
    );
  });

  it("answers within its deadline when Postgres accepts connections and never answers", async () => {
    const sockets: Socket[] = [];
    const hung: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
    const port = (hung.address() as { port: number }).port;
    closers.push(
      () =>
        new Promise((resolve) => {
          for (const s of sockets) s.destroy();
          hung.close(resolve);
        }),
    );
    const server = await serve(`postgres://postgres@127.0.0.1:${port}/postgres`, brokers());
    const started = Date.now();
    const answer = await get(`${server.url}/readyz`);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 1_000);
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({
      unavailable: ["postgres"],
      checks: { postgres: { reason: "timeout" } },
    });
  });

  it("names Kafka when no broker answers", async () => {
    const server = await serve(`postgres://postgres@127.0.0.1:${pgPort}/postgres`, [
      `127.0.0.1:${await freePort()}`,
    ]);
    const answer = await get(`${server.url}/readyz`);
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({
      unavailable: ["kafka"],
      checks: { postgres: { ok: true }, kafka: { ok: false } },
    });
  });

  it("answers 404 in JSON for anything else", async () => {
    const server = await serve(`postgres://postgres@127.0.0.1:${pgPort}/postgres`, brokers());
    expect(await get(`${server.url}/nope`)).toMatchObject({ status: 404, body: { ok: false } });
    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toContain("text/plain");
  });
});
