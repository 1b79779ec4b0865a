import { describe, expect, it } from "vitest";
import type { Product } from "./schemas.ts";
import { chosenVariant, nextPriceChange, productAt, soldVariants } from "./variants.ts";

const at = Date.parse("2026-11-27T10:00:00Z");
const sale = { priceListId: "bf", priceCents: 700, startsAtMs: at - 1_000, endsAtMs: at + 60_000 };

const product = (variants: Product["variants"]): Product => ({
  id: "tee",
  name: "Tee",
  description: "",
  currency: "USD",
  category: "apparel",
  images: [{ url: "https://media.example/tee.png", alt: "Tee" }],
  updatedAt: new Date(at).toISOString(),
  options: [{ name: "Size", values: ["S", "M"] }],
  variants,
});

const s = { variantId: "tee-s", sku: "TEE-S", options: { Size: "S" }, priceCents: 1_000 };
const m = { variantId: "tee-m", sku: "TEE-M", options: { Size: "M" }, priceCents: 900 };

describe("productAt", () => {
  it("prices each variant at the moment and shows the product as its cheapest variant then", () => {
    const before = productAt(product([s, { ...m }]), at);
    expect(before).toMatchObject({ sku: "TEE-M", priceCents: 900 });
    expect(before.compareAtPriceCents).toBeUndefined();
    // A sale on S makes it the cheapest, shown with its regular price beside it.
    const during = productAt(product([{ ...s, scheduled: [sale] }, m]), at);
    expect(during).toMatchObject({ sku: "TEE-S", priceCents: 700, compareAtPriceCents: 1_000 });
    expect(during.variants.map((v) => [v.variantId, v.priceCents, v.compareAtPriceCents])).toEqual([
      ["tee-s", 700, 1_000],
      ["tee-m", 900, undefined],
    ]);
    expect(during.variants[0]).not.toHaveProperty("scheduled");
    expect(productAt(product([{ ...s, scheduled: [sale] }, m]), at + 60_000)).toMatchObject({
      priceCents: 900,
    });
  });

  it("names the next moment any variant's price changes", () => {
    expect(nextPriceChange([product([s, { ...m, scheduled: [sale] }])], at)).toBe(at + 60_000);
    expect(nextPriceChange([product([s, m])], at)).toBeNull();
  });
});

describe("chosenVariant", () => {
  it("takes the named variant, or a product's only one", () => {
    expect(chosenVariant(product([s, m]), { variantId: "tee-m" })).toBe(m);
    expect(chosenVariant(product([s]), { productId: "tee" })).toBe(s);
  });

  it("refuses a product with several variants named alone, and a variant it does not have", () => {
    expect(() => chosenVariant(product([s, m]), { productId: "tee" })).toThrow(
      expect.objectContaining({
        code: "variant_required",
        details: { productId: "tee", variantIds: ["tee-s", "tee-m"] },
      }),
    );
    expect(() => chosenVariant(product([s]), { variantId: "tee-xl" })).toThrow(
      expect.objectContaining({ code: "product_not_found" }),
    );
  });
});

describe("soldVariants", () => {
  it("keeps the live variants of the products found, priced as their own", () => {
    const tee = product([s, m]);
    const sold = soldVariants(
      new Map([
        ["tee-m", tee],
        ["tee-gone", tee],
      ]),
    );
    expect([...sold.keys()]).toEqual(["tee-m"]);
    expect(sold.get("tee-m")).toMatchObject({ currency: "USD", priceCents: 900, variant: m, product: tee });
  });
});
