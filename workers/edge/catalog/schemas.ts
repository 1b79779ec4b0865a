import { z } from "@hono/zod-openapi";
import { AppError } from "../../../domain/errors.ts";
import { ProductIdSchema } from "../../../domain/events.ts";
import { MediaKeySchema } from "../../../domain/media.ts";
import { CurrencySchema } from "../../../domain/money.ts";
import { ScheduledPriceSchema } from "../../../domain/pricing.ts";
import { cleanText } from "../../../domain/text.ts";

export const CategorySlugSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, "category slug: lowercase letters, digits and -");

export const ProductImageSchema = z.object({ url: z.url(), alt: z.string() }).openapi("ProductImage");

export const OptionNameSchema = cleanText(64, { min: 1 });
export const OptionValueSchema = cleanText(64, { min: 1 });

/** An option of a product (e.g. Size) and the values its variants take, in display order. */
export const ProductOptionSchema = z
  .object({ name: z.string(), values: z.array(z.string()) })
  .openapi("ProductOption");

/** Option name → value: one value of each of the product's options (`{}` when it has none). */
export const OptionValuesSchema = z.record(z.string(), z.string()).openapi({
  description: "option name → value ({} for the one variant of a product without options)",
});

/**
 * A variant as the catalog caches it: its regular price and the price lists that will lower it
 * (`scheduled`, absent when none), so every cache can answer its price at any moment without asking
 * Postgres.
 */
export const CatalogVariantSchema = z.object({
  variantId: ProductIdSchema,
  sku: z.string(),
  options: z.record(z.string(), z.string()),
  priceCents: z.number().int().nonnegative(),
  imageUrl: z.url().optional(),
  scheduled: z.array(ScheduledPriceSchema).optional(),
});
export type CatalogVariant = z.infer<typeof CatalogVariantSchema>;

/**
 * A product as the catalog caches it: what it is, its options and its live variants (at least one),
 * and `retired`: variants taken off it lately, so a cart still holding one can name it. Answers price
 * it at their moment and add its availability (`ProductSchema`).
 */
export const CatalogProductSchema = z.object({
  id: ProductIdSchema,
  name: z.string(),
  description: z.string(),
  currency: CurrencySchema,
  category: CategorySlugSchema,
  images: z.array(ProductImageSchema),
  updatedAt: z.iso.datetime(),
  options: z.array(ProductOptionSchema),
  variants: z.array(CatalogVariantSchema).min(1),
  retired: z
    .array(
      z.object({ variantId: ProductIdSchema, sku: z.string(), options: z.record(z.string(), z.string()) }),
    )
    .optional(),
});
export type Product = z.infer<typeof CatalogProductSchema>;

/** One sellable variant of a product, as answers show it. */
export const VariantSchema = z
  .object({
    variantId: ProductIdSchema,
    sku: z.string(),
    options: OptionValuesSchema,
    priceCents: z.number().int().nonnegative().openapi({
      description: "the price a checkout now would charge (a price list's, while one lowers it)",
    }),
    compareAtPriceCents: z.number().int().nonnegative().optional().openapi({
      description: "the regular price, present only while a price list lowers it",
    }),
    inStock: z.boolean(),
    availableQty: z.number().int().nonnegative().optional(),
    imageUrl: z.url().optional(),
  })
  .openapi("Variant");

/**
 * A product as the API answers it: priced at the answer's moment, with its live availability, its
 * options and its variants. A product written without variants has exactly one, whose id is the
 * product's and whose options are `{}`, so clients that know only products keep working. `sku`,
 * `priceCents` and `compareAtPriceCents` are those of its cheapest variant now.
 */
export const ProductSchema = CatalogProductSchema.omit({ variants: true, retired: true })
  .extend({
    sku: z.string().openapi({ description: "its cheapest variant's" }),
    priceCents: z.number().int().nonnegative().openapi({
      description: "its cheapest variant's price now: what a checkout now would charge for it",
    }),
    compareAtPriceCents: z.number().int().nonnegative().optional().openapi({
      description: "that variant's regular price, present only while a price list lowers it",
    }),
    inStock: z.boolean().openapi({
      description:
        "any variant in stock, from the edge stock counter (lags the stock of record by at most a second)",
    }),
    availableQty: z.number().int().nonnegative().optional().openapi({
      description:
        "units left of all its variants, present only at or below the low-stock threshold (LOW_STOCK_THRESHOLD)",
    }),
    variants: z.array(VariantSchema).min(1),
  })
  .openapi("Product");
export type ProductAnswer = z.infer<typeof ProductSchema>;

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
/** The most option filters (`option.<name>=<value>`) one list request may have. */
export const MAX_OPTION_FILTERS = 3;

/**
 * Option filters, from the query's `option.<name>=<value>` parameters: products with a live variant
 * that has every value asked for.
 */
export const OptionFiltersSchema = z
  .record(OptionNameSchema, OptionValueSchema)
  .refine((filters) => Object.keys(filters).length <= MAX_OPTION_FILTERS, {
    message: `at most ${MAX_OPTION_FILTERS} option filters`,
  });

/** Query parameters naming an option filter: `option.<name>`. */
export const OPTION_FILTER_PREFIX = "option.";

/**
 * The option filters of a list request's query (each parameter once; 400 when malformed, repeated or
 * too many), as `{options}` to merge into the query; `{}` without any.
 */
export const optionFilters = (query: Record<string, string[]>): { options?: Record<string, string> } => {
  const filters: Record<string, string> = {};
  const repeated: string[] = [];
  for (const [param, values] of Object.entries(query)) {
    if (!param.startsWith(OPTION_FILTER_PREFIX)) continue;
    const name = param.slice(OPTION_FILTER_PREFIX.length);
    if (values.length !== 1) repeated.push(param);
    filters[name] = values[0] ?? "";
  }
  if (Object.keys(filters).length === 0) return {};
  const parsed = OptionFiltersSchema.safeParse(filters);
  if (repeated.length > 0 || !parsed.success) {
    throw new AppError("invalid_request", "malformed option filters", {
      details: [
        ...repeated.map((param) => ({ path: [param], message: "given more than once" })),
        ...(parsed.success
          ? []
          : parsed.error.issues.map((issue) => ({
              path: issue.path.map((p) =>
                typeof p === "string" ? `${OPTION_FILTER_PREFIX}${p}` : String(p),
              ),
              message: issue.message,
            }))),
      ],
    });
  }
  return { options: parsed.data };
};

export type ProductListQuery = z.infer<typeof ProductListQuerySchema> & {
  options?: Record<string, string>;
};

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

/** The most options and variants one product may have. */
export const MAX_OPTIONS = 3;
export const MAX_VARIANTS = 100;

const PriceCents = z.number().int().nonnegative().max(100_000_000);

export const VariantInputSchema = z.strictObject({
  variantId: ProductIdSchema,
  sku: cleanText(64, { min: 1 }),
  options: z.record(OptionNameSchema, OptionValueSchema),
  priceCents: PriceCents,
  imageKeys: z.array(MediaKeySchema).max(1, "a variant has at most one picture").optional(),
});

const duplicates = (values: readonly string[]): string[] =>
  values.filter((value, i) => values.indexOf(value) !== i);

/**
 * Admin upsert body: every field of the product but its id, which is in the path. With `variants`,
 * `sku` and `priceCents` are not needed (each variant has its own), and every variant names one value
 * of each option; without, the product is its one variant, whose id is the product's.
 */
export const ProductInputSchema = z
  .strictObject({
    sku: cleanText(64, { min: 1 }).optional(),
    name: cleanText(200, { min: 1 }),
    description: cleanText(5000, { multiline: true }),
    priceCents: PriceCents.optional(),
    currency: CurrencySchema,
    category: CategorySlugSchema,
    imageKeys: z.array(MediaKeySchema).max(20).optional(),
    options: z
      .array(
        z.strictObject({
          name: OptionNameSchema,
          values: z.array(OptionValueSchema).min(1).max(MAX_VARIANTS),
        }),
      )
      .max(MAX_OPTIONS)
      .optional(),
    variants: z.array(VariantInputSchema).min(1).max(MAX_VARIANTS).optional(),
  })
  .superRefine((input, ctx) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: "custom", path, message });
    if (!input.variants) {
      if (input.sku === undefined) issue(["sku"], "required when the product has no variants");
      if (input.priceCents === undefined) issue(["priceCents"], "required when the product has no variants");
      if (input.options?.length) issue(["options"], "options need variants");
      return;
    }
    const options = input.options ?? [];
    for (const name of duplicates(options.map((o) => o.name)))
      issue(["options"], `option ${name} named twice`);
    options.forEach((option, i) => {
      for (const value of duplicates(option.values))
        issue(["options", i, "values"], `value ${value} listed twice`);
    });
    for (const id of duplicates(input.variants.map((v) => v.variantId)))
      issue(["variants"], `variant id ${id} used twice`);
    for (const sku of duplicates(input.variants.map((v) => v.sku)))
      issue(["variants"], `sku ${sku} used twice`);
    const combinations = input.variants.map((variant, i) => {
      const names = Object.keys(variant.options);
      if (names.length !== options.length || options.some((o) => !names.includes(o.name)))
        issue(
          ["variants", i, "options"],
          `must name one value of each option: ${options.map((o) => o.name).join(", ") || "none"}`,
        );
      for (const option of options) {
        const value = variant.options[option.name];
        if (value !== undefined && !option.values.includes(value))
          issue(["variants", i, "options", option.name], `${value} is not a value of option ${option.name}`);
      }
      return JSON.stringify(options.map((o) => variant.options[o.name] ?? null));
    });
    for (const combination of duplicates(combinations))
      issue(["variants"], `two variants have the same options ${combination}`);
  })
  .openapi("ProductInput");
export type ProductInput = z.infer<typeof ProductInputSchema>;

/** A variant as it is written: the body's, or, without variants, the product as its one variant. */
export interface VariantWrite {
  variantId: string;
  sku: string;
  options: Record<string, string>;
  priceCents: number;
  imageKey: string | null;
}

/** The variants a product write leaves live, in order (validated input: `sku` and `priceCents` exist without variants). */
export const variantWrites = (productId: string, input: ProductInput): VariantWrite[] =>
  input.variants?.map((variant) => ({
    variantId: variant.variantId,
    sku: variant.sku,
    options: variant.options,
    priceCents: variant.priceCents,
    imageKey: variant.imageKeys?.[0] ?? null,
  })) ?? [
    {
      variantId: productId,
      sku: input.sku ?? "",
      options: {},
      priceCents: input.priceCents ?? 0,
      imageKey: null,
    },
  ];
