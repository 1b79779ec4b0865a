import { z } from "@hono/zod-openapi";
import { ProductIdSchema } from "../../../domain/events.ts";
import { MediaKeySchema } from "../../../domain/media.ts";
import { CurrencySchema } from "../../../domain/money.ts";
import { ScheduledPriceSchema } from "../../../domain/pricing.ts";
import { cleanText } from "../../../domain/text.ts";

export const CategorySlugSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, "category slug: lowercase letters, digits and -");

export const ProductImageSchema = z.object({ url: z.url(), alt: z.string() }).openapi("ProductImage");

/**
 * A product as the catalog caches it: its regular price and the price lists that will lower it
 * (`scheduled`, absent when none), so every cache can answer the price of any moment without asking
 * Postgres. Answers price it at their moment and add its availability (`ProductSchema`).
 */
export const CatalogProductSchema = z.object({
  id: ProductIdSchema,
  sku: z.string(),
  name: z.string(),
  description: z.string(),
  priceCents: z.number().int().nonnegative(),
  currency: CurrencySchema,
  category: CategorySlugSchema,
  images: z.array(ProductImageSchema),
  updatedAt: z.iso.datetime(),
  scheduled: z.array(ScheduledPriceSchema).optional(),
});
export type Product = z.infer<typeof CatalogProductSchema>;

/** One sellable variant of a product, as answers show it. */
export const VariantSchema = z
  .object({
    variantId: ProductIdSchema,
    sku: z.string(),
    options: z
      .record(z.string(), z.string())
      .openapi({ description: "option name → value ({} for the one variant of a product without options)" }),
    priceCents: z.number().int().nonnegative(),
    compareAtPriceCents: z.number().int().nonnegative().optional(),
    inStock: z.boolean(),
    availableQty: z.number().int().nonnegative().optional(),
    imageUrl: z.url().optional(),
  })
  .openapi("Variant");

/**
 * A product as the API answers it: priced at the answer's moment, with its live availability, its
 * options and its variants. Every product has at least one variant; a product written without
 * variants (today, every product) has exactly one, whose id is the product's and whose options are
 * `{}`, so clients that know only products keep working.
 */
export const ProductSchema = CatalogProductSchema.omit({ scheduled: true })
  .extend({
    priceCents: z.number().int().nonnegative().openapi({
      description: "the price a checkout now would charge (a price list's, while one lowers it)",
    }),
    compareAtPriceCents: z.number().int().nonnegative().optional().openapi({
      description: "the regular price, present only while a price list lowers it",
    }),
    inStock: z.boolean().openapi({
      description: "from the edge stock counter: lags the stock of record by at most a second",
    }),
    availableQty: z.number().int().nonnegative().optional().openapi({
      description: "units left, present only at or below the low-stock threshold (LOW_STOCK_THRESHOLD)",
    }),
    options: z.array(z.object({ name: z.string(), values: z.array(z.string()) })),
    variants: z.array(VariantSchema).min(1),
  })
  .openapi("Product");

export const ProductParamsSchema = z.object({
  productId: ProductIdSchema,
});

export const ProductListQuerySchema = z.object({
  category: CategorySlugSchema.optional().openapi({ example: "kitchen" }),
  q: cleanText(200, { min: 1 })
    .optional()
    .openapi({ description: "full-text search", example: "ceramic mug" }),
  cursor: z.string().max(512).optional().openapi({ description: "opaque cursor from `nextCursor`" }),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
export type ProductListQuery = z.infer<typeof ProductListQuerySchema>;

export const ProductPageSchema = z
  .object({ items: z.array(ProductSchema), nextCursor: z.string().nullable() })
  .openapi("ProductPage");
/** A page of products as the catalog caches it (the answer adds availability to each). */
export type ProductPage = { items: Product[]; nextCursor: string | null };

export const CategorySchema = z
  .object({ slug: CategorySlugSchema, name: z.string(), productCount: z.number().int().nonnegative() })
  .openapi("Category");
export type Category = z.infer<typeof CategorySchema>;

export const CategoryListSchema = z.object({ items: z.array(CategorySchema) }).openapi("CategoryList");
export type CategoryList = z.infer<typeof CategoryListSchema>;

/** Admin upsert body: every field of the product but its id, which is in the path. */
export const ProductInputSchema = z
  .strictObject({
    sku: cleanText(64, { min: 1 }),
    name: cleanText(200, { min: 1 }),
    description: cleanText(5000, { multiline: true }),
    priceCents: z.number().int().nonnegative().max(100_000_000),
    currency: CurrencySchema,
    category: CategorySlugSchema,
    imageKeys: z.array(MediaKeySchema).max(20).optional(),
  })
  .openapi("ProductInput");
export type ProductInput = z.infer<typeof ProductInputSchema>;
