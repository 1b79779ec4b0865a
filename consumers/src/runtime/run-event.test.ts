import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { connectTestDb } from "../test-support/handler-harness.ts";
import { applyOne } from "./run-event.ts";
import { type HandlerContext, type PrepareContext, subscribePrepared } from "./types.ts";

/** One try at one event on its own (the retrier's and the harness's path), against the real Postgres. */
const { db, pool } = connectTestDb(4);
const silent = pino({ level: "silent" });
const TOPIC = `run-event-test-${randomUUID().slice(0, 8)}`;
afterAll(() => pool.end());
const Schema = z.object({ eventId: z.string() });

interface Script {
  prepare?: (ctx: PrepareContext) => Promise<string>;
  handle: (ctx: HandlerContext, prepared: string) => Promise<void>;
}

const runOf = (script: Script, eventId = randomUUID()) =>
  applyOne(
    { db, consumer: "run-event-test", topicName: (topic) => topic, scope: "run-event-test.", log: silent },
    {
      subscription: subscribePrepared(TOPIC, Schema, {
        prepare: (_event, ctx) => (script.prepare ? script.prepare(ctx) : Promise.resolve("")),
        handle: (_event, ctx, prepared) => script.handle(ctx, prepared),
      }),
      event: { eventId },
      eventId,
      log: silent,
      source: { topic: TOPIC, partition: 0, offset: 0n },
    },
  );

describe("one event on its own: prepare, then the transaction", () => {
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
    expect((await runOf(script, eventId)).outcome).toBe("applied");
    expect((await runOf(script, eventId)).outcome).toBe("duplicate");
    expect(steps).toEqual(["prepare", "handle:authorized"]);
  });

  it("rethrows a handler's error as it was thrown, and records nothing of the event", async () => {
    const eventId = randomUUID();
    const failing: Script = {
      handle: async () => {
        throw new Error("the handler fails");
      },
    };
    await expect(runOf(failing, eventId)).rejects.toThrow(/^the handler fails$/);
    let handled = 0;
    const working: Script = {
      handle: async () => {
        handled++;
      },
    };
    expect((await runOf(working, eventId)).outcome).toBe("applied");
    expect(handled).toBe(1);
  });
});
