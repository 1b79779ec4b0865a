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
