import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { dbClient, sqlClient } from "../../../platform/clients.ts";
import { createProduct } from "../test-support.ts";
import { readStock, writeStock } from "./store.ts";

/**
 * Races on the real PostgreSQL. A checkout's hold is reproduced by the statement the inventory
 * consumer runs (consumers/src/inventory/stock-store.ts): move one unit from available to reserved
 * only while one is available, raising the version. It answers the version it produced, so the
 * order of commits is known.
 */
const hold = async (productId: string): Promise<number | null> => {
  const rows = await sqlClient(env)`
    update inventory set available = available - 1, reserved = reserved + 1, version = version + 1,
      updated_at = now()
    where variant_id = ${productId} and available >= 1
    returning version::text as version`;
  const row = rows[0] as { version: string } | undefined;
  return row ? Number(row.version) : null;
};

const db = () => dbClient(env);

describe("stock writes racing checkouts", () => {
  it("setting available while holds race never sells more than was set", async () => {
    const id = await createProduct();
    await writeStock(db(), id, { available: 100 });
    // Six checkouts holding one unit after another, and the set landing in the middle of them.
    const holds: Array<number | null> = [];
    let started!: () => void;
    const someHeld = new Promise<void>((resolve) => {
      started = resolve;
    });
    const shopper = async () => {
      for (let i = 0; i < 15; i++) {
        holds.push(await hold(id));
        if (holds.length === 12) started();
      }
    };
    const set = someHeld.then(() => writeStock(db(), id, { available: 10 }));
    const [written] = await Promise.all([set, ...Array.from({ length: 6 }, shopper)]);
    const before = holds.filter((version) => version !== null && version < written.version);
    const after = holds.filter((version) => version !== null && version > written.version);
    const stock = await readStock(db(), id);
    expect(before.length).toBeGreaterThanOrEqual(12);
    expect(holds.length - before.length).toBeGreaterThan(10); // more checkouts came than were set
    // The set wrote exactly 10 over the holds committed before it; the holds after it took those 10.
    expect(after).toHaveLength(10);
    expect(stock).toMatchObject({ available: 0, reserved: before.length + 10 });
    expect(written).toMatchObject({ available: 10, reserved: before.length });
    expect(stock.version).toBe(1 + before.length + 1 + after.length);
  });

  it("applies every delta racing holds exactly once, never below zero", async () => {
    const id = await createProduct();
    await writeStock(db(), id, { available: 20 });
    const deltas = Array.from({ length: 30 }, (_, i) =>
      writeStock(db(), id, { delta: i % 3 === 0 ? 2 : -1 }).then(
        () => "ok" as const,
        (error: unknown) => (error as { code?: string }).code ?? "error",
      ),
    );
    const holds = Array.from({ length: 30 }, () => hold(id));
    const [outcomes, held] = await Promise.all([Promise.all(deltas), Promise.all(holds)]);
    const applied = outcomes
      .map((outcome, i) => (outcome === "ok" ? (i % 3 === 0 ? 2 : -1) : 0))
      .reduce((sum: number, d) => sum + d, 0);
    expect(outcomes.every((o) => o === "ok" || o === "insufficient_stock")).toBe(true);
    const reserved = held.filter((v) => v !== null).length;
    const stock = await readStock(db(), id);
    expect(stock.available).toBe(20 + applied - reserved);
    expect(stock.available).toBeGreaterThanOrEqual(0);
    expect(stock.reserved).toBe(reserved);
  });

  it("takes the last unit once however many negative deltas race", async () => {
    const id = await createProduct();
    await writeStock(db(), id, { available: 5 });
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () =>
        writeStock(db(), id, { delta: -1 }).then(
          () => "ok",
          (error: unknown) => (error as { code?: string }).code,
        ),
      ),
    );
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(5);
    expect(outcomes.filter((o) => o === "insufficient_stock")).toHaveLength(15);
    expect(await readStock(db(), id)).toMatchObject({ available: 0, reserved: 0, version: 6 });
  });
});
