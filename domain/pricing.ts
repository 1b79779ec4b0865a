import { z } from "zod";
import type { Currency } from "./money.ts";

/**
 * Pricing, in one place: what a line costs at a moment. The cart answer, checkout, the order record
 * and the order's email all price through this module, so the number a shopper sees is the number
 * charged and the number written. Pure: no clock (the moment is an argument), no I/O.
 *
 * Later adjustments (discounts, shipping, tax) are further steps over `Pricing`'s lines and
 * subtotal; they add fields, they do not price a line again.
 */

export const PriceListIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "price list id: 1-64 of A-Z a-z 0-9 _ -");

/** A price list's price for one entry, in effect from `startsAtMs` until `endsAtMs` (open when null). */
export const ScheduledPriceSchema = z.object({
  priceListId: PriceListIdSchema,
  priceCents: z.number().int().nonnegative(),
  startsAtMs: z.number().int(),
  endsAtMs: z.number().int().nullable(),
});
export type ScheduledPrice = z.infer<typeof ScheduledPriceSchema>;

/** What pricing needs of a sellable entry: its regular price, and the scheduled prices that may lower it. */
export interface PriceEntry {
  currency: Currency;
  priceCents: number;
  scheduled?: readonly ScheduledPrice[];
}

/** An entry's price at one moment. */
export interface PriceInEffect {
  priceCents: number;
  /** The regular price, present only while a price list lowers it. */
  compareAtPriceCents?: number;
  /** The price list that set `priceCents`, if one did. */
  priceListId?: string;
  /** The next moment after which this answer may differ (a list starts or ends), or null. */
  changesAtMs: number | null;
}

const earlier = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.min(a, b);

const inEffect = (price: ScheduledPrice, atMs: number): boolean =>
  price.startsAtMs <= atMs && (price.endsAtMs === null || atMs < price.endsAtMs);

/**
 * The price of `entry` at `atMs`: the lowest scheduled price in effect when it is below the regular
 * price (overlapping lists: the lowest wins; equal prices: the first list id in sort order), else the
 * regular price. A list starts at its `startsAtMs` exactly and has ended at its `endsAtMs`.
 */
export const priceAt = (entry: PriceEntry, atMs: number): PriceInEffect => {
  let best: ScheduledPrice | undefined;
  let changesAtMs: number | null = null;
  for (const price of entry.scheduled ?? []) {
    if (price.startsAtMs > atMs) changesAtMs = earlier(changesAtMs, price.startsAtMs);
    else if (price.endsAtMs !== null && price.endsAtMs > atMs)
      changesAtMs = earlier(changesAtMs, price.endsAtMs);
    if (!inEffect(price, atMs) || price.priceCents >= entry.priceCents) continue;
    if (
      !best ||
      price.priceCents < best.priceCents ||
      (price.priceCents === best.priceCents && price.priceListId < best.priceListId)
    )
      best = price;
  }
  return best
    ? {
        priceCents: best.priceCents,
        compareAtPriceCents: entry.priceCents,
        priceListId: best.priceListId,
        changesAtMs,
      }
    : { priceCents: entry.priceCents, changesAtMs };
};

/** A line's total: integer minor units, never floats. */
export const lineTotalCents = (unitPriceCents: number, qty: number): number => unitPriceCents * qty;

/** Lines whose unit prices are settled (an order's, as recorded), with their totals and the subtotal. */
export const totalLines = <L extends { unitPriceCents: number; qty: number }>(
  lines: readonly L[],
): { lines: (L & { lineTotalCents: number })[]; subtotalCents: number } => {
  let subtotalCents = 0;
  const totalled = lines.map((line) => {
    const total = lineTotalCents(line.unitPriceCents, line.qty);
    subtotalCents += total;
    return { ...line, lineTotalCents: total };
  });
  return { lines: totalled, subtotalCents };
};

/** Why a line has no price: its entry is gone, or it sells in another currency than the rest. */
export type UnpricedReason = "unavailable" | "currency_mismatch";

export interface PricedLine<L, E> {
  line: L;
  entry: E;
  unitPriceCents: number;
  compareAtPriceCents?: number;
  priceListId?: string;
  lineTotalCents: number;
}

export interface Pricing<L, E> {
  /** The first priced line's currency, or the caller's default for a cart with none. */
  currency: Currency;
  /** The lines that have a price, in the order given. */
  lines: PricedLine<L, E>[];
  subtotalCents: number;
  /** The lines that could not be priced, in the order given, with the reason. */
  unpriced: { line: L; reason: UnpricedReason }[];
  /** The next moment after which any line's price may differ, or null: how long this answer holds. */
  changesAtMs: number | null;
}

/**
 * Prices `lines` at `atMs` from `entries` (keyed as `keyOf` keys a line): each line at its entry's
 * price in effect, the lines' totals and the subtotal. A line whose entry is missing, or whose entry
 * sells in another currency than the first priced line, is listed in `unpriced` and adds nothing.
 */
export const priceLines = <L extends { qty: number }, E extends PriceEntry>(
  lines: readonly L[],
  entries: ReadonlyMap<string, E>,
  keyOf: (line: L) => string,
  atMs: number,
  defaultCurrency: Currency,
): Pricing<L, E> => {
  const priced: PricedLine<L, E>[] = [];
  const unpriced: Pricing<L, E>["unpriced"] = [];
  let currency: Currency | undefined;
  let changesAtMs: number | null = null;
  let subtotalCents = 0;
  for (const line of lines) {
    const entry = entries.get(keyOf(line));
    if (!entry) {
      unpriced.push({ line, reason: "unavailable" });
      continue;
    }
    currency ??= entry.currency;
    if (entry.currency !== currency) {
      unpriced.push({ line, reason: "currency_mismatch" });
      continue;
    }
    const price = priceAt(entry, atMs);
    changesAtMs = earlier(changesAtMs, price.changesAtMs);
    const total = lineTotalCents(price.priceCents, line.qty);
    subtotalCents += total;
    priced.push({
      line,
      entry,
      unitPriceCents: price.priceCents,
      ...(price.compareAtPriceCents !== undefined ? { compareAtPriceCents: price.compareAtPriceCents } : {}),
      ...(price.priceListId !== undefined ? { priceListId: price.priceListId } : {}),
      lineTotalCents: total,
    });
  }
  return {
    currency: currency ?? defaultCurrency,
    lines: priced,
    subtotalCents,
    unpriced,
    changesAtMs,
  };
};
