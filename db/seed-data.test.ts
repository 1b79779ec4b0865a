import { describe, expect, it } from "vitest";
import {
  SEED_CATEGORIES,
  SEED_VARIANTS_FROM,
  seedProduct,
  seedProductId,
  seedVariants,
} from "./seed-data.ts";

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

describe("seedVariants", () => {
  it("gives the first products one variant, their own id, and later ones 1 to 6 sizes, each naming its value", () => {
    expect(seedVariants(0)).toEqual({
      options: [],
      variants: [
        {
          id: "prod_0000001",
          sku: "SKU-0000001",
          options: {},
          priceCents: seedProduct(0).priceCents,
          available: seedProduct(0).available,
        },
      ],
    });
    const counts = new Set<number>();
    for (let i = SEED_VARIANTS_FROM; i < SEED_VARIANTS_FROM + 500; i++) {
      const { options, variants } = seedVariants(i);
      expect(seedVariants(i)).toEqual({ options, variants });
      counts.add(variants.length);
      if (variants.length === 1) {
        expect(variants[0]?.id).toBe(seedProductId(i));
        continue;
      }
      expect(options).toEqual([{ name: "Size", values: variants.map((v) => v.options.Size) }]);
      expect(new Set(variants.map((v) => v.id)).size).toBe(variants.length);
      expect(new Set(variants.map((v) => v.sku)).size).toBe(variants.length);
    }
    expect([...counts].sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
