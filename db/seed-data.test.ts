import { describe, expect, it } from "vitest";
import { SEED_CATEGORIES, seedProduct, seedProductId } from "./seed-data.ts";

describe("seed data", () => {
  it("is deterministic", () => {
    expect(seedProduct(41)).toEqual(seedProduct(41));
    expect(seedProduct(0).id).toBe("prod_0000001");
    expect(seedProductId(999_999)).toBe("prod_1000000");
  });

  it("gives valid prices, stock and categories", () => {
    const slugs = new Set<string>(SEED_CATEGORIES.map((c) => c.slug));
    for (let i = 0; i < 2000; i++) {
      const p = seedProduct(i);
      expect(Number.isInteger(p.priceCents) && p.priceCents >= 199 && p.priceCents < 50_000).toBe(true);
      expect(p.available).toBeGreaterThanOrEqual(10);
      expect(slugs.has(p.category)).toBe(true);
    }
  });

  it("spreads products over every category", () => {
    const seen = new Set(Array.from({ length: 1000 }, (_, i) => seedProduct(i).category));
    expect(seen.size).toBe(SEED_CATEGORIES.length);
  });
});
