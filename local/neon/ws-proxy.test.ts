import { Client, neonConfig, Pool } from "@neondatabase/serverless";
import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/neon-serverless";
import { bigint, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type NeonProxy, neonLocalConfig, startNeonProxy } from "./server.ts";
import {
  CLIENT_URL,
  CLOSED_POSTGRES_URL,
  directPool,
  dropTables,
  POSTGRES_URL,
  scratchTable,
} from "./test-support.ts";

let proxy: NeonProxy;
let direct: pg.Pool;
const orders = scratchTable("orders");

const ordersTable = pgTable(orders, {
  id: text("id").primaryKey(),
  totalCents: integer("total_cents").notNull(),
  sequence: bigint("sequence", { mode: "bigint" }).notNull(),
  lines: jsonb("lines").$type<{ sku: string; qty: number }[]>().notNull(),
  placedAt: timestamp("placed_at", { withTimezone: true }).notNull(),
});

beforeAll(async () => {
  proxy = await startNeonProxy({ postgresUrl: POSTGRES_URL });
  Object.assign(neonConfig, neonLocalConfig({ port: proxy.port, webSocketConstructor: WebSocket }));
  direct = directPool();
  await direct.query(
    `create table "${orders}" (id text primary key, total_cents int not null, sequence int8 not null,
       lines jsonb not null, placed_at timestamptz not null)`,
  );
});

afterAll(async () => {
  await dropTables(direct, [orders]);
  await direct.end();
  await proxy.close();
});

/** Connects a Client with the given pipelining mode and returns what the server says about the session. */
const session = async (pipelineConnect: "password" | false, connectionString = CLIENT_URL) => {
  const client = new Client(connectionString);
  client.neonConfig.pipelineConnect = pipelineConnect;
  await client.connect();
  try {
    const { rows } = await client.query<{ user: string; db: string; port: number; big: string; at: Date }>(
      "select current_user as user, current_database() as db, inet_server_port() as port, $1::int8 as big, $2::timestamptz as at",
      ["9007199254740993", "2024-05-06T07:08:09.010Z"],
    );
    return rows[0];
  } finally {
    await client.end();
  }
};

describe("the WebSocket proxy with Client", () => {
  it.each([false, "password"] as const)(
    "connects with pipelineConnect = %s and round-trips values",
    async (mode) => {
      expect(await session(mode)).toEqual({
        user: "postgres",
        db: "test",
        port: 5432,
        big: "9007199254740993",
        at: new Date("2024-05-06T07:08:09.010Z"),
      });
    },
  );

  it("honours the user and database of the startup message, and only ever reaches the configured server", async () => {
    // The client names a different host and port; the proxy must not dial it.
    const row = await session(false, "postgres://root@mail.example.invalid:25/test");
    expect(row).toMatchObject({ user: "root", db: "test", port: 5432 });
  });
});

describe("drizzle-orm/neon-serverless with Pool", () => {
  it("inserts, selects, updates and commits an interactive transaction", async () => {
    const pool = new Pool({ connectionString: CLIENT_URL, max: 2 });
    const db = drizzle({ client: pool });
    try {
      const placedAt = new Date("2024-11-29T00:00:00.001Z");
      await db.insert(ordersTable).values({
        id: "o-1",
        totalCents: 2599,
        sequence: 9_007_199_254_740_993n,
        lines: [{ sku: "mug-ü", qty: 2 }],
        placedAt,
      });
      const [order] = await db.select().from(ordersTable).where(eq(ordersTable.id, "o-1"));
      expect(order).toEqual({
        id: "o-1",
        totalCents: 2599,
        sequence: 9_007_199_254_740_993n,
        lines: [{ sku: "mug-ü", qty: 2 }],
        placedAt,
      });

      const total = await db.transaction(async (tx) => {
        await tx.update(ordersTable).set({ totalCents: 2000 }).where(eq(ordersTable.id, "o-1"));
        await tx
          .insert(ordersTable)
          .values({ id: "o-2", totalCents: 500, sequence: 2n, lines: [], placedAt });
        const [sum] = await tx
          .select({ total: sql<number>`sum(${ordersTable.totalCents})::int` })
          .from(ordersTable);
        return sum?.total;
      });
      expect(total).toBe(2500);
      const { rows } = await direct.query(`select id, total_cents from "${orders}" order by id`);
      expect(rows).toEqual([
        { id: "o-1", total_cents: 2000 },
        { id: "o-2", total_cents: 500 },
      ]);
    } finally {
      await pool.end();
    }
  });

  it("rolls an interactive transaction back when its callback throws", async () => {
    const pool = new Pool({ connectionString: CLIENT_URL, max: 2 });
    const db = drizzle({ client: pool });
    try {
      const attempt = db.transaction(async (tx) => {
        await tx.update(ordersTable).set({ totalCents: 1 }).where(eq(ordersTable.id, "o-1"));
        await tx
          .insert(ordersTable)
          .values({ id: "o-3", totalCents: 3, sequence: 3n, lines: [], placedAt: new Date() });
        const [seen] = await tx.select({ n: sql<number>`count(*)::int` }).from(ordersTable);
        expect(seen?.n).toBe(3); // the transaction sees its own writes...
        throw new Error("payment declined");
      });
      await expect(attempt).rejects.toThrow("payment declined");
      // ...and nothing of them survives.
      const { rows } = await direct.query(`select id, total_cents from "${orders}" order by id`);
      expect(rows).toEqual([
        { id: "o-1", total_cents: 2000 },
        { id: "o-2", total_cents: 500 },
      ]);

      const duplicate = await db
        .insert(ordersTable)
        .values({ id: "o-1", totalCents: 0, sequence: 0n, lines: [], placedAt: new Date() })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(duplicate).toMatchObject({ cause: expect.objectContaining({ code: "23505" }) });
    } finally {
      await pool.end();
    }
  });

  it("also serves Pool.query() over HTTP when poolQueryViaFetch is on", async () => {
    neonConfig.poolQueryViaFetch = true;
    const pool = new Pool({ connectionString: CLIENT_URL });
    try {
      const result = await pool.query(`select total_cents from "${orders}" where id = $1`, ["o-2"]);
      expect(result.rows).toEqual([{ total_cents: 500 }]);
      expect(result).toMatchObject({ viaNeonFetch: true, command: "SELECT", rowCount: 1 });
    } finally {
      neonConfig.poolQueryViaFetch = false;
      await pool.end();
    }
  });
});

describe("WebSocket endpoint hygiene", () => {
  const openSocket = (path: string): Promise<string> =>
    new Promise((resolve) => {
      const socket = new WebSocket(`ws://127.0.0.1:${proxy.port}${path}`);
      socket.once("open", () => {
        socket.close();
        resolve("open");
      });
      socket.once("unexpected-response", (_request, response) => {
        resolve(`HTTP ${response.statusCode}`);
        socket.terminate();
      });
      socket.once("error", (error) => resolve(`error: ${error.message}`));
    });

  it("only upgrades on /v1 and /v2 with a well-formed address", async () => {
    expect(await openSocket("/v2?address=db.example:5432")).toBe("open");
    expect(await openSocket("/v1")).toBe("open");
    expect(await openSocket("/sql")).toBe("HTTP 404");
    expect(await openSocket("/v2?address=http://evil/")).toBe("HTTP 400");
  });
});

describe("when PostgreSQL is down", () => {
  it.each([false, "password"] as const)(
    "rejects promptly with a clear PostgreSQL error (pipelineConnect = %s)",
    async (mode) => {
      const down = await startNeonProxy({ postgresUrl: CLOSED_POSTGRES_URL });
      const client = new Client(CLIENT_URL);
      Object.assign(client.neonConfig, {
        wsProxy: neonLocalConfig(down.port).wsProxy,
        pipelineConnect: mode,
      });
      try {
        const started = performance.now();
        const error = await client
          .connect()
          .then(() => client.query("select 1"))
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(performance.now() - started).toBeLessThan(3_000);
        expect(error).toMatchObject({
          code: "08001",
          severity: "FATAL",
          message: expect.stringMatching(/could not reach PostgreSQL at 127\.0\.0\.1:5499: .*ECONNREFUSED/),
        });
      } finally {
        // end() after a failed connect may itself reject; the connect error above is what this test checks.
        await client.end().catch((error: unknown) => expect(error).toBeDefined());
        await down.close();
      }
    },
  );
});
