import { AppError } from "../../../domain/errors.ts";
import type { PriceEntry } from "../../../domain/pricing.ts";
import { priceAt } from "../../../domain/pricing.ts";
import type { CatalogVariant, Product } from "./schemas.ts";

/** A variant as pricing takes it: its own price and schedule, in its product's currency, beside its product. */
export interface SoldVariant extends PriceEntry {
  product: Product;
  variant: CatalogVariant;
}

/** The live variant `variantId` of `product`, priced as pricing takes it; undefined when it has none. */
export const soldVariant = (product: Product, variantId: string): SoldVariant | undefined => {
  const variant = product.variants.find((v) => v.variantId === variantId);
  if (!variant) return undefined;
  return {
    product,
    variant,
    currency: product.currency,
    priceCents: variant.priceCents,
    ...(variant.scheduled ? { scheduled: variant.scheduled } : {}),
  };
};

/** The variants among `found` (product by variant id) that are live, keyed by variant id. */
export const soldVariants = (found: ReadonlyMap<string, Product>): Map<string, SoldVariant> => {
  const sold = new Map<string, SoldVariant>();
  for (const [variantId, product] of found) {
    const entry = soldVariant(product, variantId);
    if (entry) sold.set(variantId, entry);
  }
  return sold;
};

/**
 * The variant a cart add means: the one named, or, for a product named alone, its one variant. 404
 * when the product has no such live variant; 422 `variant_required` when a product with several
 * variants is named without one.
 */
export const chosenVariant = (product: Product, pick: { variantId: string } | { productId: string }) => {
  if ("variantId" in pick) {
    const variant = product.variants.find((v) => v.variantId === pick.variantId);
    if (!variant) throw new AppError("product_not_found", `variant ${pick.variantId} does not exist`);
    return variant;
  }
  const [only, ...others] = product.variants;
  if (!only || others.length > 0) {
    throw new AppError(
      "variant_required",
      `product ${product.id} has several variants: name one with variantId`,
      {
        details: { productId: product.id, variantIds: product.variants.map((v) => v.variantId) },
      },
    );
  }
  return only;
};

/** The catalog ids a product's record is cached under as a variant: its live variants and those taken off it lately. */
export const variantIdsOf = (product: Product): string[] => [
  ...product.variants.map((v) => v.variantId),
  ...(product.retired ?? []).map((v) => v.variantId),
];

/**
 * The product as an answer at `atMs` shows it: each variant at its price then (a price list's, with
 * the regular price as `compareAtPriceCents`, while one lowers it), the product's `sku` and prices
 * those of its cheapest variant then, schedules left out. Availability is added by the caller.
 */
export const productAt = ({ variants, retired: _retired, ...product }: Product, atMs: number) => {
  const priced = variants.map(({ scheduled, ...variant }) => {
    const price = priceAt(
      { currency: product.currency, priceCents: variant.priceCents, ...(scheduled ? { scheduled } : {}) },
      atMs,
    );
    return {
      ...variant,
      priceCents: price.priceCents,
      ...(price.compareAtPriceCents !== undefined ? { compareAtPriceCents: price.compareAtPriceCents } : {}),
    };
  });
  let cheapest = priced[0];
  for (const variant of priced) if (cheapest && variant.priceCents < cheapest.priceCents) cheapest = variant;
  if (!cheapest) throw new Error(`product ${product.id} has no variant`);
  return {
    ...product,
    sku: cheapest.sku,
    priceCents: cheapest.priceCents,
    ...(cheapest.compareAtPriceCents !== undefined
      ? { compareAtPriceCents: cheapest.compareAtPriceCents }
      : {}),
    variants: priced,
  };
};

/** The next moment after `atMs` at which any of the products' prices may change, or null. */
export const nextPriceChange = (products: readonly Product[], atMs: number): number | null => {
  let next: number | null = null;
  for (const product of products) {
    for (const variant of product.variants) {
      const { changesAtMs } = priceAt({ currency: product.currency, ...variant }, atMs);
      if (changesAtMs !== null && (next === null || changesAtMs < next)) next = changesAtMs;
    }
  }
  return next;
};
