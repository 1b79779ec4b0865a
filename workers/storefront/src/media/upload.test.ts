import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MEDIA_MAX_BYTES } from "../../../../domain/media.ts";
import { call, expectError, json } from "../test-support.ts";
import type { UploadedMedia } from "./schemas.ts";
import { adminUpload, chunkedBody, GIF_1X1, JPEG_HEAD, uniquePng, WEBP_1X1 } from "./test-images.ts";

const HASHED = /^[0-9a-f]{16}-/;

describe("PUT /v1/admin/media/:key", () => {
  it("stores an image under a content-addressed key and answers its CDN URL", async () => {
    const png = uniquePng();
    const res = await adminUpload("desk-front.png", png);
    expect(res.status).toBe(201);
    const { key, url } = await json<UploadedMedia>(res);
    expect(key).toMatch(/^[0-9a-f]{16}-desk-front\.png$/);
    expect(url).toBe(`${env.MEDIA_BASE_URL}/${key}`);
    const object = await env.MEDIA.get(key);
    expect(new Uint8Array((await object?.arrayBuffer()) ?? new ArrayBuffer(0))).toEqual(png);
    expect(object?.httpMetadata?.contentType).toBe("image/png");
  });

  it("builds the URL from MEDIA_BASE_URL, e.g. a CDN host", async () => {
    const res = await adminUpload(
      "cdn.png",
      uniquePng(),
      "image/png",
      {},
      {
        MEDIA_BASE_URL: "https://cdn.example.com/media/",
      },
    );
    const { key, url } = await json<UploadedMedia>(res);
    expect(url).toBe(`https://cdn.example.com/media/${key}`);
  });

  it("gives the same bytes the same key and changed bytes a new one (nothing is overwritten)", async () => {
    const png = uniquePng();
    const first = await json<UploadedMedia>(await adminUpload("lamp.png", png));
    const again = await json<UploadedMedia>(await adminUpload("lamp.png", png));
    expect(again.key).toBe(first.key);
    // Re-uploading under the returned key (or another extension) keeps the key.
    expect((await json<UploadedMedia>(await adminUpload(first.key, png))).key).toBe(first.key);
    expect((await json<UploadedMedia>(await adminUpload("lamp.jpeg", png))).key).toBe(first.key);
    const changed = await json<UploadedMedia>(await adminUpload("lamp.png", uniquePng()));
    expect(changed.key).not.toBe(first.key);
    expect(changed.key.slice(16)).toBe(first.key.slice(16));
  });

  it.each([
    ["image/gif", GIF_1X1, "gif"],
    ["image/webp", WEBP_1X1, "webp"],
    ["image/jpeg", JPEG_HEAD, "jpg"],
  ])("accepts %s", async (type, bytes, ext) => {
    const res = await adminUpload("pixel", bytes, type);
    expect(res.status).toBe(201);
    expect((await json<UploadedMedia>(res)).key).toMatch(new RegExp(`${HASHED.source}pixel\\.${ext}$`));
  });

  it.each([
    ["a PNG sent as image/jpeg", uniquePng(), "image/jpeg"],
    ["text sent as image/png", new TextEncoder().encode("not an image at all"), "image/png"],
    ["an empty body", new Uint8Array(), "image/png"],
    ["an SVG", new TextEncoder().encode("<svg/>"), "image/svg+xml"],
    ["application/octet-stream", uniquePng(), "application/octet-stream"],
    ["no Content-Type", uniquePng(), null],
  ])("answers 415 to %s", async (_name, body, type) => {
    await expectError(await adminUpload("x.png", body, type), 415, "unsupported_media_type");
  });

  it("answers 413 as soon as a chunked body passes 10 MiB, without reading it all", async () => {
    const body = chunkedBody(uniquePng(), MEDIA_MAX_BYTES * 3);
    await expectError(await adminUpload("huge.png", body.stream), 413, "payload_too_large");
    expect(body.pulled()).toBeLessThan(MEDIA_MAX_BYTES + 512 * 1024);
  });

  it("answers 413 to one byte over 10 MiB, and takes exactly 10 MiB", async () => {
    const over = chunkedBody(uniquePng(), MEDIA_MAX_BYTES + 1);
    await expectError(await adminUpload("over.png", over.stream), 413, "payload_too_large");
    const limit = chunkedBody(uniquePng(), MEDIA_MAX_BYTES);
    const res = await adminUpload("limit.png", limit.stream);
    expect(res.status).toBe(201);
    const { key } = await json<UploadedMedia>(res);
    expect((await env.MEDIA.head(key))?.size).toBe(MEDIA_MAX_BYTES);
  });

  it("answers 413 from Content-Length before reading the body", async () => {
    const res = await adminUpload("declared.png", uniquePng(), "image/png", {
      "content-length": String(MEDIA_MAX_BYTES + 1),
    });
    await expectError(res, 413, "payload_too_large");
  });

  it("answers 401 without the admin token and 400 to a bad key", async () => {
    const res = await call("/v1/admin/media/x.png", {
      method: "PUT",
      headers: { "content-type": "image/png" },
      body: uniquePng(),
    });
    await expectError(res, 401, "unauthorized");
    for (const key of ["has%20space.png", "a%2Fb.png", "x".repeat(201)]) {
      await expectError(await adminUpload(key, uniquePng()), 400, "invalid_request");
    }
  });
});
