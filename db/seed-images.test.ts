import { createHash } from "node:crypto";
import { decode } from "fast-png";
import { describe, expect, it } from "vitest";
import { SEED_CATEGORIES, seedProduct } from "./seed-data.ts";
import {
  renderSeedImage,
  SEED_IMAGE_HEIGHT,
  SEED_IMAGE_VARIANTS,
  SEED_IMAGE_WIDTH,
  seedImageKeys,
  seedImageKeysByCategory,
  seedImages,
} from "./seed-images.ts";

describe("seed images", () => {
  it("are real PNGs, deterministic and distinct", async () => {
    const images = await seedImages();
    expect(images).toHaveLength(SEED_CATEGORIES.length * SEED_IMAGE_VARIANTS);
    expect(renderSeedImage(3, 1)).toEqual(renderSeedImage(3, 1));
    const png = decode(images[0]?.bytes ?? new Uint8Array());
    expect({ width: png.width, height: png.height }).toEqual({
      width: SEED_IMAGE_WIDTH,
      height: SEED_IMAGE_HEIGHT,
    });
    expect(new Set(images.map((image) => image.key)).size).toBe(images.length);
    for (const image of images) expect(image.bytes.byteLength).toBeLessThan(16 * 1024);
  });

  it("have content-addressed keys: the SHA-256 prefix of their bytes, then their name", async () => {
    for (const image of await seedImages()) {
      const hash = createHash("sha256").update(image.bytes).digest("hex").slice(0, 16);
      expect(image.key).toBe(`${hash}-${image.name.replace(/\.png$/, "")}.png`);
    }
  });

  it("give every product two pictures of its own category", async () => {
    const byCategory = await seedImageKeysByCategory();
    for (let index = 0; index < 100; index++) {
      const { category } = seedProduct(index);
      const keys = seedImageKeys(byCategory, category, index);
      expect(keys).toHaveLength(2);
      for (const key of keys) expect(byCategory.get(category)).toContain(key);
    }
  });
});
