import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { outbox } from "../../../db/schema/index.ts";
import { connectTestDb } from "../test-support/handler-harness.ts";
import { taskContext } from "./periodic-tasks.ts";
import { createEventRun } from "./run-event.ts";
import { type HandlerContext, type PrepareContext, subscribePrepared } from "./types.ts";

/** The order of one event's steps, and what the after-commit hooks see, against the real Postgres. */
const { db, pool } = connectTestDb(4);
const silent = pino({ level: "silent" });
const TOPIC = `run-event-test-${randomUUID().slice(0, 8)}`;
afterAll(async () => {
  // No relay may try to publish to this topic, which does not exist on Kafka.
  await db.delete(outbox).where(eq(outbox.topic, TOPIC));
  await pool.end();
});
const Schema = z.object({ eventId: z.string() });

interface Script {
  prepare?: (ctx: PrepareContext) => Promise<string>;
  handle: (ctx: HandlerContext, prepared: string) => Promise<void>;
}

const runOf = (script: Script, eventId = randomUUID()) =>
  createEventRun({
    db,
    consumer: "run-event-test",
    subscription: subscribePrepared(TOPIC, Schema, {
      prepare: (_event, ctx) => (script.prepare ? script.prepare(ctx) : Promise.resolve("")),
      handle: (_event, ctx, prepared) => script.handle(ctx, prepared),
    }),
    event: { eventId },
    eventId,
    log: silent,
    source: { topic: TOPIC, partition: 0, offset: 0n },
    topicName: (topic) => topic,
  });

/** The outbox rows of this file's topic with key `key`, read on another connection (committed only). */
const committedRows = async (key: string) =>
  db
    .select({ id: outbox.id })
    .from(outbox)
    .where(and(eq(outbox.topic, TOPIC), eq(outbox.key, key)));

describe("an event's run: prepare, transaction, after-commit hooks", () => {
  it("runs a hook only after the commit: it sees the transaction's effect from another connection", async () => {
    const key = randomUUID();
    const seen: number[] = [];
    const run = runOf({
      handle: async (ctx) => {
        await ctx.emit(TOPIC, key, { eventId: randomUUID() });
        ctx.afterCommit(async () => {
          seen.push((await committedRows(key)).length);
        });
        // Inside the transaction, the row is not visible to other connections yet, and the hook has not run.
        expect(await committedRows(key)).toHaveLength(0);
        expect(seen).toEqual([]);
      },
    });
    expect((await run.attempt()).outcome).toBe("applied");
    expect(seen).toEqual([1]);
  });

  it("never runs a hook of a transaction that rolled back", async () => {
    const key = randomUUID();
    let hookRan = false;
    const run = runOf({
      handle: async (ctx) => {
        await ctx.emit(TOPIC, key, { eventId: randomUUID() });
        ctx.afterCommit(async () => {
          hookRan = true;
        });
        throw new Error("the handler fails after registering the hook");
      },
    });
    await expect(run.attempt()).rejects.toThrow(/handler fails/);
    expect(hookRan).toBe(false);
    expect(await committedRows(key)).toHaveLength(0);
  });

  it("retries a failed hook without repeating the transaction, and only the hooks not done", async () => {
    const key = randomUUID();
    const calls = { handle: 0, first: 0, second: 0 };
    const run = runOf({
      handle: async (ctx) => {
        calls.handle++;
        await ctx.emit(TOPIC, key, { eventId: randomUUID() });
        ctx.afterCommit(async () => {
          calls.first++;
        });
        ctx.afterCommit(async () => {
          calls.second++;
          if (calls.second === 1) throw new Error("Redis timed out");
        });
      },
    });
    await expect(run.attempt()).rejects.toThrow(/Redis timed out/);
    expect((await run.attempt()).outcome).toBe("applied");
    expect(calls).toEqual({ handle: 1, first: 1, second: 2 });
    expect(await committedRows(key)).toHaveLength(1);
  });

  it("runs prepare before the transaction, hands its result over, and skips it for a known event id", async () => {
    const eventId = randomUUID();
    const steps: string[] = [];
    const script: Script = {
      prepare: async () => {
        steps.push("prepare");
        return "authorized";
      },
      handle: async (_ctx, prepared) => {
        steps.push(`handle:${prepared}`);
      },
    };
    expect((await runOf(script, eventId).attempt()).outcome).toBe("applied");
    expect((await runOf(script, eventId).attempt()).outcome).toBe("duplicate");
    expect(steps).toEqual(["prepare", "handle:authorized"]);
  });

  it("in a periodic task, retries a failed hook until it succeeds, once the transaction committed", async () => {
    const key = randomUUID();
    let tries = 0;
    const ctx = taskContext({ db, log: silent, topicName: (topic) => topic, onCommitted: () => {} }, silent);
    const value = await ctx.transaction(async (tx) => {
      await tx.emit(TOPIC, key, { eventId: randomUUID() });
      tx.afterCommit(async () => {
        tries++;
        if (tries < 3) throw new Error("Command timed out");
      });
      return "done";
    });
    expect(value).toBe("done");
    expect(tries).toBe(3);
    expect(await committedRows(key)).toHaveLength(1);
  });
});
