import { type SeedImage, seedImages } from "./seed-images.ts";

/**
 * Stores the seed pictures through the admin upload route of a running storefront (the path every
 * image takes: auth, type sniffing, size limit, content-addressed key). Uploads are idempotent: the
 * same bytes land on the same key, which must be the one the seed wrote into `products.image_keys`.
 */

const CONCURRENCY = 8;

const uploadOne = async (storefrontUrl: string, adminToken: string, image: SeedImage): Promise<void> => {
  const res = await fetch(`${storefrontUrl.replace(/\/+$/, "")}/v1/admin/media/${image.name}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "image/png" },
    body: image.bytes,
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`upload of ${image.name} answered ${res.status}: ${text}`);
  const { key } = JSON.parse(text) as { key?: unknown };
  if (key !== image.key) {
    throw new Error(`the storefront stored ${image.name} as ${String(key)}, the seed expects ${image.key}`);
  }
};

/** Uploads every seed image; resolves to how many. */
export const uploadSeedImages = async (storefrontUrl: string, adminToken: string): Promise<number> => {
  const queue = [...(await seedImages())];
  const total = queue.length;
  const worker = async () => {
    for (let image = queue.shift(); image; image = queue.shift())
      await uploadOne(storefrontUrl, adminToken, image);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return total;
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const storefrontUrl = process.env.STOREFRONT_URL ?? "http://127.0.0.1:8787";
  const adminToken = process.env.ADMIN_TOKEN;
  if (!adminToken) {
    console.error(
      "ADMIN_TOKEN is required (the storefront's admin bearer token); STOREFRONT_URL defaults to http://127.0.0.1:8787",
    );
    process.exit(1);
  }
  const count = await uploadSeedImages(storefrontUrl, adminToken);
  console.log(`uploaded ${count} seed images to ${storefrontUrl}`);
}
