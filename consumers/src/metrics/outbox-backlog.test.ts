import { afterAll, describe, expect, inject, it } from "vitest";
import { createNodeDb } from "../../../db/node-client.ts";
import { outbox } from "../../../db/schema/index.ts";
import { readOutboxBacklog } from "./outbox-backlog.ts";

const { db, pool } = createNodeDb(inject("stack").databaseUrl, { max: 1 });
afterAll(() => pool.end());

class Rollback extends Error {}

describe("readOutboxBacklog", () => {
  it("counts unpublished rows and the age of the oldest, leaving published rows out", async () => {
    // In a transaction that is rolled back, so no relay ever sees these rows.
    const seen = await db
      .transaction(async (tx) => {
        const before = await readOutboxBacklog(tx);
        const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);
        await tx.insert(outbox).values([
          { topic: "backlog-test", key: "a", payload: { eventId: "a" }, createdAt: minutesAgo(10) },
          { topic: "backlog-test", key: "b", payload: { eventId: "b" }, createdAt: minutesAgo(1) },
          {
            topic: "backlog-test",
            key: "c",
            payload: { eventId: "c" },
            createdAt: minutesAgo(60),
            publishedAt: minutesAgo(59),
          },
        ]);
        throw new Rollback(JSON.stringify({ before, after: await readOutboxBacklog(tx) }));
      })
      .catch((error: unknown) => {
        if (error instanceof Rollback) return JSON.parse(error.message);
        throw error;
      });
    expect(seen.after.rows).toBe(seen.before.rows + 2);
    // Other runs may have rows waiting too (of any age), so the oldest is at least ten minutes old
    // (less a little: the age is taken from the transaction's start, before the row's time was set),
    // and no older than the hour-old published row unless an older unpublished one was there before.
    const before: number = seen.before.oldestAgeSeconds ?? 0;
    expect(seen.after.oldestAgeSeconds).toBeGreaterThanOrEqual(Math.max(595, before - 5));
    expect(seen.after.oldestAgeSeconds).toBeLessThan(Math.max(3_000, before + 5));
  });
});
