import { encode } from "fast-png";
import { contentAddressedKey } from "../domain/media.ts";
import { SEED_CATEGORIES } from "./seed-data.ts";

/**
 * Product pictures of the seeded catalog, drawn by code: a few PNGs per category (a gradient in the
 * category's hue with a shape per variant), shared by its products. PNG encoding is pure JavaScript
 * (fast-png), so the bytes, and therefore the content-addressed keys, are the same on every machine.
 * The seed writes the keys into `products.image_keys` without a running worker;
 * `upload-seed-images.ts` stores the images through the admin upload route, which gives back the
 * same keys.
 */

export const SEED_IMAGE_VARIANTS = 4;
export const SEED_IMAGE_WIDTH = 400;
export const SEED_IMAGE_HEIGHT = 300;

export interface SeedImage {
  category: string;
  variant: number;
  /** The name it is uploaded under, e.g. `kitchen-2.png`. */
  name: string;
  bytes: Uint8Array<ArrayBuffer>;
  /** The stored key the upload route answers for these bytes. */
  key: string;
}

type Rgb = [number, number, number];

const hsl = (hue: number, saturation: number, lightness: number): Rgb => {
  const a = saturation * Math.min(lightness, 1 - lightness);
  const channel = (n: number) => {
    const k = (n + hue / 30) % 12;
    return Math.round(255 * (lightness - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [channel(0), channel(8), channel(4)];
};

/** Whether pixel (x, y), relative to the centre and scaled to -1..1, is inside the variant's shape. */
const SHAPES: ReadonlyArray<(x: number, y: number) => boolean> = [
  (x, y) => x * x + y * y <= 1,
  (x, y) => Math.abs(x) + Math.abs(y) <= 1,
  (x, y) =>
    Math.abs(x) <= 0.85 &&
    Math.abs(y) <= 0.85 &&
    (Math.abs(x) <= 0.6 ||
      Math.abs(y) <= 0.6 ||
      (Math.abs(x) - 0.6) ** 2 + (Math.abs(y) - 0.6) ** 2 <= 0.0625),
  (x, y) => x * x + y * y <= 1 && x * x + y * y >= 0.45,
];

/** Shades of the background gradient (an indexed PNG holds at most 256 colours). */
const GRADIENT_STEPS = 64;

/** The PNG of one category and variant; the same arguments always give the same bytes. */
export const renderSeedImage = (categoryIndex: number, variant: number): Uint8Array<ArrayBuffer> => {
  const width = SEED_IMAGE_WIDTH;
  const height = SEED_IMAGE_HEIGHT;
  const hue = (categoryIndex * 360) / SEED_CATEGORIES.length;
  const top = hsl(hue, 0.55, 0.88);
  const bottom = hsl(hue, 0.5, 0.66);
  const palette: Rgb[] = Array.from({ length: GRADIENT_STEPS }, (_, step) => {
    const t = step / (GRADIENT_STEPS - 1);
    return top.map((value, c) => Math.round(value * (1 - t) + (bottom[c] ?? value) * t)) as Rgb;
  });
  const ink = palette.push(hsl((hue + 180 + variant * 25) % 360, 0.45, 0.38)) - 1;
  const inside = SHAPES[variant % SHAPES.length] ?? (() => false);
  const radius = height * 0.32;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const shade = Math.round((y / (height - 1)) * (GRADIENT_STEPS - 1));
    for (let x = 0; x < width; x++) {
      data[y * width + x] = inside((x - width / 2) / radius, (y - height / 2) / radius) ? ink : shade;
    }
  }
  return new Uint8Array(encode({ width, height, data, channels: 1, depth: 8, palette }));
};

export const seedImageName = (category: string, variant: number): string => `${category}-${variant + 1}.png`;

let images: Promise<SeedImage[]> | undefined;

/** Every seed image with its key, rendered once per process. */
export const seedImages = (): Promise<SeedImage[]> => {
  images ??= Promise.all(
    SEED_CATEGORIES.flatMap(({ slug }, categoryIndex) =>
      Array.from({ length: SEED_IMAGE_VARIANTS }, async (_, variant): Promise<SeedImage> => {
        const bytes = renderSeedImage(categoryIndex, variant);
        const name = seedImageName(slug, variant);
        return {
          category: slug,
          variant,
          name,
          bytes,
          key: await contentAddressedKey(name, "image/png", bytes),
        };
      }),
    ),
  );
  return images;
};

/** Image keys of the seed product at `index` in `category`: two of the category's pictures. */
export const seedImageKeys = (
  keysByCategory: ReadonlyMap<string, readonly string[]>,
  category: string,
  index: number,
): string[] => {
  const keys = keysByCategory.get(category) ?? [];
  if (keys.length === 0) return [];
  return [keys[index % keys.length], keys[(index + 1) % keys.length]].filter((key): key is string => !!key);
};

/** Category slug → its image keys in variant order. */
export const seedImageKeysByCategory = async (): Promise<Map<string, string[]>> => {
  const byCategory = new Map<string, string[]>();
  for (const image of await seedImages())
    byCategory.set(image.category, [...(byCategory.get(image.category) ?? []), image.key]);
  return byCategory;
};
