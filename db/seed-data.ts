/** Deterministic catalog generation: the same index always yields the same product. */

export const SEED_CATEGORIES = [
  { slug: "kitchen", name: "Kitchen" },
  { slug: "outdoor", name: "Outdoor" },
  { slug: "apparel", name: "Apparel" },
  { slug: "electronics", name: "Electronics" },
  { slug: "books", name: "Books" },
  { slug: "toys", name: "Toys" },
  { slug: "garden", name: "Garden" },
  { slug: "beauty", name: "Beauty" },
  { slug: "sports", name: "Sports" },
  { slug: "office", name: "Office" },
  { slug: "pets", name: "Pets" },
  { slug: "home", name: "Home" },
] as const;

const ADJECTIVES = [
  "Classic",
  "Compact",
  "Deluxe",
  "Eco",
  "Ergonomic",
  "Handmade",
  "Heavy-duty",
  "Lightweight",
  "Modern",
  "Rustic",
  "Sleek",
  "Vintage",
  "Waterproof",
  "Wireless",
  "Cozy",
  "Bold",
];
const MATERIALS = [
  "Bamboo",
  "Ceramic",
  "Cotton",
  "Copper",
  "Glass",
  "Leather",
  "Linen",
  "Maple",
  "Oak",
  "Steel",
  "Walnut",
  "Wool",
  "Granite",
  "Silicone",
  "Canvas",
  "Titanium",
];
const NOUNS = [
  "Mug",
  "Lamp",
  "Backpack",
  "Blanket",
  "Bottle",
  "Chair",
  "Desk",
  "Jacket",
  "Kettle",
  "Notebook",
  "Planter",
  "Speaker",
  "Tent",
  "Towel",
  "Watch",
  "Headphones",
  "Skillet",
  "Sneakers",
  "Puzzle",
  "Leash",
];
const PHRASES = [
  "built to last",
  "made for everyday use",
  "a customer favourite",
  "designed in small batches",
  "easy to clean",
  "perfect as a gift",
  "tested outdoors",
  "with a lifetime warranty",
];

/** mulberry32: a tiny, well-known seeded PRNG; deterministic across runs and platforms. */
const random = (seed: number): number => {
  let t = (seed + 0x6d2b79f5) | 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const pick = <T>(items: readonly T[], seed: number): T => items[Math.floor(random(seed) * items.length)] as T;

export interface SeedProduct {
  id: string;
  sku: string;
  name: string;
  description: string;
  priceCents: number;
  currency: "USD";
  category: string;
  available: number;
}

export const seedProductId = (index: number): string => `prod_${String(index + 1).padStart(7, "0")}`;

export const seedProduct = (index: number): SeedProduct => {
  const base = index * 7919;
  const name = `${pick(ADJECTIVES, base + 1)} ${pick(MATERIALS, base + 2)} ${pick(NOUNS, base + 3)}`;
  const category = pick(SEED_CATEGORIES, base + 4).slug;
  return {
    id: seedProductId(index),
    sku: `SKU-${String(index + 1).padStart(7, "0")}`,
    name,
    description: `${name}, ${pick(PHRASES, base + 5)} and ${pick(PHRASES, base + 6)}.`,
    priceCents: 199 + Math.floor(random(base + 7) * 49_800),
    currency: "USD",
    category,
    available: 10 + Math.floor(random(base + 8) * 490),
  };
};

/**
 * Seed products from this index on have 1 to 6 variants (a size each), as a real catalog does; the
 * first ones (the catalog the tests and the local stack know) have one, whose id is the product's.
 */
export const SEED_VARIANTS_FROM = 1_000;
const SIZES = ["XS", "S", "M", "L", "XL", "XXL"] as const;

export interface SeedVariant {
  id: string;
  sku: string;
  options: Record<string, string>;
  priceCents: number;
  available: number;
}

/** The options and variants of seed product `index`: one variant, or one per size from XS up. */
export const seedVariants = (
  index: number,
  product: SeedProduct = seedProduct(index),
): { options: { name: string; values: string[] }[]; variants: SeedVariant[] } => {
  const count = index < SEED_VARIANTS_FROM ? 1 : 1 + Math.floor(random(index * 7919 + 9) * SIZES.length);
  if (count === 1) {
    const { id, sku, priceCents, available } = product;
    return { options: [], variants: [{ id, sku, options: {}, priceCents, available }] };
  }
  const sizes = SIZES.slice(0, count);
  return {
    options: [{ name: "Size", values: [...sizes] }],
    variants: sizes.map((size, k) => ({
      id: `${product.id}-${size.toLowerCase()}`,
      sku: `${product.sku}-${size}`,
      options: { Size: size },
      priceCents: product.priceCents + k * 100,
      available: product.available,
    })),
  };
};
