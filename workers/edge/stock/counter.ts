import type { Redis } from "@upstash/redis";
import { READ_STOCK, STOCK_SYNC_TTL_MS, SYNC_STOCK } from "../../../domain/stock-counter.ts";
import type { EdgeDb } from "../../platform/clients.ts";
import { log } from "../../platform/log.ts";
import { runScript } from "../../platform/scripts.ts";
import { readStockLevels, type StockLevel } from "./levels.ts";

/** Flat `[productId, available, version, ...]` arguments of the counter scripts. */
export const levelArgs = (levels: readonly StockLevel[]): string[] =>
  levels.flatMap((level) => [level.productId, String(level.available), String(level.version)]);

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

  /** Units checkout may hold per product; loads counters Redis does not have from Postgres. */
  async available(productIds: readonly string[]): Promise<Map<string, number>> {
    const read = await this.run<number[]>(READ_STOCK, [...productIds]);
    const result = new Map(productIds.map((id, i) => [id, Number(read[i] ?? -1)]));
    const unknown = productIds.filter((id) => (result.get(id) ?? -1) < 0);
    if (unknown.length === 0) return result;
    await this.load(unknown);
    const reread = await this.run<number[]>(READ_STOCK, unknown);
    unknown.forEach((id, i) => {
      result.set(id, Number(reread[i] ?? 0));
    });
    return result;
  }

  /** Loads the products' counters from Postgres (kept for STOCK_SYNC_TTL_MS unless synced again). */
  async load(productIds: readonly string[]): Promise<void> {
    await this.sync(await readStockLevels(this.db(), productIds));
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
    await this.run(SYNC_STOCK, [String(STOCK_SYNC_TTL_MS), ...levelArgs(levels)]);
  }
}
