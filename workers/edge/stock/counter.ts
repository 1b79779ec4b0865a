import type { Redis } from "@upstash/redis";
import { AppError } from "../../../domain/errors.ts";
import { LEVEL, READ_STOCK, STOCK_COUNTER_TTL_MS, SYNC_STOCK } from "../../../domain/stock-counter.ts";
import type { EdgeDb } from "../../platform/clients.ts";
import { log, rootCause } from "../../platform/log.ts";
import { runScript } from "../../platform/scripts.ts";
import { readStockLevels, type StockLevel } from "./levels.ts";

/** Flat `[variantId, available, version, ...]` arguments of the counter scripts. */
export const levelArgs = (levels: readonly StockLevel[]): string[] =>
  levels.flatMap((level) => [level.variantId, String(level.available), String(level.version)]);

/**
 * The edge stock counter (layout and scripts in domain/stock-counter.ts), as the workers use it:
 * read what may be held, and record Postgres's levels.
 */
export class StockCounter {
  constructor(
    private readonly redis: Redis,
    private readonly db: () => EdgeDb,
  ) {}

  private run<T>(script: string, args: string[]): Promise<T> {
    return runScript<T>(this.redis, script, [], args, "the stock counter");
  }

  /** What the counter holds per product: its level (`LEVEL`) and the units checkout may hold. */
  private async read(variantIds: readonly string[]): Promise<Map<string, { level: number; units: number }>> {
    const read = await this.run<number[]>(READ_STOCK, [...variantIds]);
    return new Map(
      variantIds.map((id, i) => [
        id,
        { level: Number(read[2 * i] ?? LEVEL.missing), units: Number(read[2 * i + 1] ?? 0) },
      ]),
    );
  }

  /**
   * Units checkout may hold per product. Counters Redis does not have, or whose level is older than
   * STOCK_FRESH_MS, are loaded from Postgres first; while Postgres cannot be reached, an old level is
   * answered as it is (a product whose level was never known then fails as `dependency_unavailable`).
   */
  async available(variantIds: readonly string[]): Promise<Map<string, number>> {
    const read = await this.read(variantIds);
    const result = new Map([...read].map(([id, r]) => [id, r.units]));
    const reload = variantIds.filter((id) => read.get(id)?.level !== LEVEL.fresh);
    if (reload.length === 0) return result;
    try {
      await this.load(reload);
    } catch (error) {
      const missing = reload.filter((id) => read.get(id)?.level === LEVEL.missing);
      if (missing.length > 0 || !(error instanceof AppError)) throw error;
      log("warn", "stock levels could not be reloaded; answering the last known ones", {
        reason: rootCause(error),
      });
      return result;
    }
    for (const [id, r] of await this.read(reload)) result.set(id, r.units);
    return result;
  }

  /** Loads the products' counters from Postgres (fresh for STOCK_FRESH_MS unless synced again). */
  async load(variantIds: readonly string[]): Promise<void> {
    await this.sync(await readStockLevels(this.db(), variantIds));
  }

  /**
   * Records levels Postgres just wrote; a failure only leaves the counter to its next reload (the
   * write itself has happened), so it is logged, not thrown.
   */
  async syncWritten(levels: readonly StockLevel[]): Promise<void> {
    await this.sync(levels).catch((error: unknown) => {
      log("warn", "stock counter not updated after a stock write; it reloads within its sync TTL", { error });
    });
  }

  /** Records Postgres's levels; an older version never replaces a newer one. */
  async sync(levels: readonly StockLevel[]): Promise<void> {
    if (levels.length === 0) return;
    await this.run(SYNC_STOCK, [String(STOCK_COUNTER_TTL_MS), ...levelArgs(levels)]);
  }
}
