import { describe, expect, it } from "vitest";
import { type PriceEntry, priceAt, priceLines, type ScheduledPrice, totalLines } from "./pricing.ts";

const T = Date.parse("2026-11-27T00:00:00.000Z");
const list = (priceListId: string, priceCents: number, startsAtMs: number, endsAtMs: number | null = null) =>
  ({ priceListId, priceCents, startsAtMs, endsAtMs }) satisfies ScheduledPrice;
const entry = (priceCents: number, scheduled: ScheduledPrice[] = []): PriceEntry => ({
  currency: "USD",
  priceCents,
  scheduled,
});

describe("priceAt", () => {
  it("is the regular price with no list, and says nothing will change it", () => {
    expect(priceAt(entry(2500), T)).toEqual({ priceCents: 2500, changesAtMs: null });
  });

  it("switches exactly at a list's start and back exactly at its end", () => {
    const sale = entry(2500, [list("bf", 1999, T, T + 10_000)]);
    expect(priceAt(sale, T - 1)).toEqual({ priceCents: 2500, changesAtMs: T });
    expect(priceAt(sale, T)).toEqual({
      priceCents: 1999,
      compareAtPriceCents: 2500,
      priceListId: "bf",
      changesAtMs: T + 10_000,
    });
    expect(priceAt(sale, T + 9_999)).toMatchObject({ priceCents: 1999 });
    expect(priceAt(sale, T + 10_000)).toEqual({ priceCents: 2500, changesAtMs: null });
  });

  it("takes the lowest of overlapping lists, the first id on a tie, and never raises a price", () => {
    const overlapping = entry(2500, [
      list("b", 1800, T - 5_000),
      list("a", 1800, T - 1_000, T + 60_000),
      list("c", 2000, T - 9_000),
      list("dearer", 3000, T - 9_000),
    ]);
    expect(priceAt(overlapping, T)).toEqual({
      priceCents: 1800,
      compareAtPriceCents: 2500,
      priceListId: "a",
      changesAtMs: T + 60_000,
    });
    expect(priceAt(entry(2500, [list("dearer", 3000, T - 9_000)]), T)).toEqual({
      priceCents: 2500,
      changesAtMs: null,
    });
  });

  it("answers the next start or end among all lists as the moment the price may change", () => {
    const later = entry(2500, [list("now", 2000, T - 1, T + 30_000), list("soon", 1500, T + 5_000)]);
    expect(priceAt(later, T)).toMatchObject({ priceCents: 2000, changesAtMs: T + 5_000 });
    expect(priceAt(later, T + 5_000)).toMatchObject({ priceCents: 1500, changesAtMs: T + 30_000 });
  });
});

describe("priceLines", () => {
  const catalog = new Map<string, PriceEntry & { name: string }>([
    ["mug", { ...entry(1250), name: "Mug" }],
    ["tee", { ...entry(2500, [list("bf", 1999, T - 1_000, T + 1_000)]), name: "Tee" }],
    ["euro", { currency: "EUR", priceCents: 900, name: "Euro thing" }],
  ]);
  const key = (line: { id: string }) => line.id;

  it("prices each line at its price in effect and totals them in integer cents", () => {
    const pricing = priceLines(
      [
        { id: "tee", qty: 3 },
        { id: "mug", qty: 2 },
      ],
      catalog,
      key,
      T,
      "GBP",
    );
    expect(pricing.currency).toBe("USD");
    expect(
      pricing.lines.map((l) => [
        l.line.id,
        l.unitPriceCents,
        l.compareAtPriceCents,
        l.priceListId,
        l.lineTotalCents,
      ]),
    ).toEqual([
      ["tee", 1999, 2500, "bf", 5997],
      ["mug", 1250, undefined, undefined, 2500],
    ]);
    expect(pricing.subtotalCents).toBe(8497);
    expect(pricing.unpriced).toEqual([]);
    expect(pricing.changesAtMs).toBe(T + 1_000);
    expect(priceLines([{ id: "tee", qty: 3 }], catalog, key, T + 1_000, "USD").subtotalCents).toBe(7500);
  });

  it("lists the lines it cannot price, with the reason, and counts nothing for them", () => {
    const pricing = priceLines(
      [
        { id: "mug", qty: 1 },
        { id: "gone", qty: 4 },
        { id: "euro", qty: 1 },
      ],
      catalog,
      key,
      T,
      "USD",
    );
    expect(pricing.lines.map((l) => l.line.id)).toEqual(["mug"]);
    expect(pricing.subtotalCents).toBe(1250);
    expect(pricing.unpriced).toEqual([
      { line: { id: "gone", qty: 4 }, reason: "unavailable" },
      { line: { id: "euro", qty: 1 }, reason: "currency_mismatch" },
    ]);
  });

  it("answers the caller's currency for a cart with nothing priced", () => {
    expect(priceLines([], catalog, key, T, "GBP")).toEqual({
      currency: "GBP",
      lines: [],
      subtotalCents: 0,
      unpriced: [],
      changesAtMs: null,
    });
  });
});

describe("totalLines", () => {
  it("totals settled unit prices the same way pricing does", () => {
    const lines = [
      { sku: "a", qty: 3, unitPriceCents: 1999 },
      { sku: "b", qty: 1, unitPriceCents: 0 },
    ];
    expect(totalLines(lines)).toEqual({
      lines: [
        { sku: "a", qty: 3, unitPriceCents: 1999, lineTotalCents: 5997 },
        { sku: "b", qty: 1, unitPriceCents: 0, lineTotalCents: 0 },
      ],
      subtotalCents: 5997,
    });
  });
});
