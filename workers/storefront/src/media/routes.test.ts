import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Product } from "../catalog/index.ts";
import { call, expectError, json } from "../test-support.ts";
import type { UploadedMedia } from "./schemas.ts";
import { adminUpload, bytesOf, uniquePng } from "./test-images.ts";

const uploaded = async (bytes = uniquePng(16)) => {
  const res = await adminUpload("photo.png", bytes);
  expect(res.status).toBe(201);
  return { bytes, ...(await json<UploadedMedia>(res)) };
};

describe("GET /media/:key", () => {
  it("streams the object with immutable cache headers and its ETag", async () => {
    const { key, bytes } = await uploaded();
    const res = await call(`/media/${key}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    expect(res.headers.get("Content-Type")).toBe("image/png");
    expect(res.headers.get("Content-Length")).toBe(String(bytes.byteLength));
    expect(res.headers.get("Accept-Ranges")).toBe("bytes");
    expect(res.headers.get("ETag")).toBe((await env.MEDIA.head(key))?.httpEtag);
    expect(await bytesOf(res)).toEqual(bytes);
  });

  it("answers repeats from the edge cache without touching R2", async () => {
    const { key, bytes } = await uploaded();
    const first = await call(`/media/${key}`);
    expect(first.headers.get("X-Edge-Cache")).toBe("MISS");
    const etag = first.headers.get("ETag") ?? "";
    await first.arrayBuffer();
    // Gone from R2: only the cache can answer now, whole, ranged or conditional.
    await env.MEDIA.delete(key);
    const again = await call(`/media/${key}`);
    expect(again.status).toBe(200);
    expect(again.headers.get("X-Edge-Cache")).toBe("HIT");
    expect(again.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    expect(again.headers.get("ETag")).toBe(etag);
    expect(await bytesOf(again)).toEqual(bytes);
    const ranged = await call(`/media/${key}`, { headers: { Range: "bytes=0-7" } });
    expect(ranged.status).toBe(206);
    expect(await bytesOf(ranged)).toEqual(bytes.subarray(0, 8));
    const conditional = await call(`/media/${key}`, { headers: { "If-None-Match": etag } });
    expect(conditional.status).toBe(304);
  });

  it("answers 304 to a matching If-None-Match, on a miss and on a hit", async () => {
    const { key } = await uploaded();
    const etag = (await env.MEDIA.head(key))?.httpEtag ?? "";
    for (const cache of ["MISS", "HIT"]) {
      const res = await call(`/media/${key}`, { headers: { "If-None-Match": etag } });
      expect({ status: res.status, cache: res.headers.get("X-Edge-Cache") }).toEqual({ status: 304, cache });
      expect(res.headers.get("ETag")).toBe(etag);
      expect(await res.text()).toBe("");
    }
    const other = await call(`/media/${key}`, { headers: { "If-None-Match": '"something-else"' } });
    expect(other.status).toBe(200);
  });

  it("answers Range requests with 206 and Content-Range, on a miss and on a hit", async () => {
    const { key, bytes } = await uploaded(uniquePng(64));
    const size = bytes.byteLength;
    for (const cache of ["MISS", "HIT"]) {
      const res = await call(`/media/${key}`, { headers: { Range: "bytes=10-99" } });
      expect({ status: res.status, cache: res.headers.get("X-Edge-Cache") }).toEqual({ status: 206, cache });
      expect(res.headers.get("Content-Range")).toBe(`bytes 10-99/${size}`);
      expect(res.headers.get("Content-Length")).toBe("90");
      expect(await bytesOf(res)).toEqual(bytes.subarray(10, 100));
    }
    const suffix = await call(`/media/${key}`, { headers: { Range: "bytes=-16" } });
    expect(suffix.headers.get("Content-Range")).toBe(`bytes ${size - 16}-${size - 1}/${size}`);
    expect(await bytesOf(suffix)).toEqual(bytes.subarray(size - 16));
    const open = await call(`/media/${key}`, { headers: { Range: `bytes=${size - 3}-` } });
    expect(await bytesOf(open)).toEqual(bytes.subarray(size - 3));
  });

  it("answers 416 with Content-Range to an unsatisfiable range", async () => {
    const { key, bytes } = await uploaded();
    const res = await call(`/media/${key}`, { headers: { Range: `bytes=${bytes.byteLength}-` } });
    expect(res.headers.get("Content-Range")).toBe(`bytes */${bytes.byteLength}`);
    await expectError(res, 416, "range_not_satisfiable");
  });

  it("answers 404 media_not_found and 400 to a malformed key", async () => {
    await expectError(await call("/media/0000000000000000-never-uploaded.png"), 404, "media_not_found");
    await expectError(await call(`/media/${"x".repeat(201)}`), 400, "invalid_request");
    await expectError(await call("/media/bad%20key.png"), 400, "invalid_request");
  });

  it("serves HEAD without a body", async () => {
    const { key, bytes } = await uploaded();
    const res = await call(`/media/${key}`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBe(String(bytes.byteLength));
    expect(await res.text()).toBe("");
  });
});

describe("seeded product pictures", () => {
  it("upload through the admin route to the keys the seed wrote, and products link to them", async () => {
    const { seedImages } = await import("../../../../db/seed-images.ts");
    const product = await json<Product>(await call("/v1/products/prod_0000001"));
    expect(product.images.length).toBeGreaterThan(0);
    const images = (await seedImages()).filter((image) => image.category === product.category);
    for (const image of images) {
      const res = await adminUpload(image.name, image.bytes);
      expect((await json<UploadedMedia>(res)).key).toBe(image.key);
    }
    for (const { url } of product.images) {
      expect(url.startsWith(`${env.MEDIA_BASE_URL}/`)).toBe(true);
      const res = await call(new URL(url).pathname);
      expect(res.status).toBe(200);
      expect(res.headers.get("Content-Type")).toBe("image/png");
      await res.arrayBuffer();
    }
  });
});

describe("OpenAPI document", () => {
  it("documents the media routes", async () => {
    const doc = await json<{ paths: Record<string, Record<string, unknown>> }>(await call("/openapi.json"));
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/v1/admin/media/{key}",
        "/media/{key}",
        "/media/private/{key}",
        "/v1/uploads",
      ]),
    );
    expect(Object.keys(doc.paths["/media/private/{key}"] ?? {})).toEqual(
      expect.arrayContaining(["get", "put"]),
    );
  });
});
