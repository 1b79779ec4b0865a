import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MEDIA_MAX_BYTES } from "../../../../domain/media.ts";
import { call, expectError, json, jsonInit } from "../test-support.ts";
import type { SignedUpload } from "./schemas.ts";
import { SIGNED_URL_TTL_SECONDS } from "./service.ts";
import { signedPath } from "./signing.ts";
import { bytesOf, chunkedBody, uniquePng } from "./test-images.ts";

const createUpload = async (contentType = "image/png"): Promise<SignedUpload> => {
  const res = await call("/v1/uploads", jsonInit("POST", { contentType }));
  expect(res.status).toBe(201);
  return json<SignedUpload>(res);
};

/** Path and query of an absolute signed URL, for `call()`. */
const local = (url: string) => {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
};

const put = (
  url: string,
  body: BodyInit | null,
  contentType = "image/png",
  headers: Record<string, string> = {},
) => call(local(url), { method: "PUT", headers: { "content-type": contentType, ...headers }, body });

describe("POST /v1/uploads", () => {
  it("answers a private key with signed, expiring upload and download URLs", async () => {
    const before = Date.now();
    const upload = await createUpload("image/jpeg");
    expect(upload.key).toMatch(/^[A-Za-z0-9_-]{22}\.jpg$/);
    for (const url of [upload.uploadUrl, upload.downloadUrl]) {
      expect(url).toMatch(
        new RegExp(`^http://storefront\\.test/media/private/${upload.key}\\?expires=\\d+&sig=[\\w-]{43}$`),
      );
    }
    expect(upload.uploadUrl).not.toBe(upload.downloadUrl);
    const expiresAt = Date.parse(upload.expiresAt);
    expect(expiresAt - before).toBeGreaterThan((SIGNED_URL_TTL_SECONDS - 5) * 1000);
    expect(expiresAt - before).toBeLessThanOrEqual((SIGNED_URL_TTL_SECONDS + 1) * 1000);
    expect((await createUpload()).key).not.toBe(upload.key);
  });

  it("answers 415 to a type that is not an allowed image, 400 to a bad body", async () => {
    await expectError(
      await call("/v1/uploads", jsonInit("POST", { contentType: "text/html" })),
      415,
      "unsupported_media_type",
    );
    await expectError(await call("/v1/uploads", jsonInit("POST", {})), 400, "invalid_request");
    await expectError(
      await call("/v1/uploads", jsonInit("POST", { contentType: "image/png", extra: 1 })),
      400,
      "invalid_request",
    );
  });

  it("rate-limits upload grants per client with Retry-After, apart from the cart's limit", async () => {
    const limited = {
      UPLOAD_RATE_LIMIT: "2",
      UPLOAD_RATE_WINDOW_SECONDS: "60",
      CART_RATE_LIMIT: "2",
      CART_RATE_WINDOW_SECONDS: "60",
    };
    const client = { "CF-Connecting-IP": `198.51.100.${Math.floor(Math.random() * 250)}-${Date.now()}` };
    const grant = () => call("/v1/uploads", jsonInit("POST", { contentType: "image/png" }, client), limited);
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 3; i++) {
      last = await grant();
      statuses.push(last.status);
    }
    expect(statuses).toEqual([201, 201, 429]);
    const res = last as Response;
    expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(res.headers.get("RateLimit-Remaining")).toBe("0");
    const body = await expectError(res, 429, "rate_limited");
    expect(body.error.message).toMatch(/upload requests/);
    // The same client still has its cart allowance: each limit counts on its own.
    const cart = await call("/v1/carts", { method: "POST", headers: client }, limited);
    expect(cart.status).toBe(201);
  });
});

describe("signed upload and download", () => {
  it("stores the upload privately and reads it back while the signature is valid", async () => {
    const upload = await createUpload();
    const png = uniquePng(32);
    const stored = await put(upload.uploadUrl, png, "image/png", {
      "content-length": String(png.byteLength),
    });
    expect(stored.status).toBe(201);
    expect(await json(stored)).toEqual({ key: upload.key, contentType: "image/png", size: png.byteLength });
    expect(await env.MEDIA.head(`private/${upload.key}`)).not.toBeNull();

    const res = await call(local(upload.downloadUrl));
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("private, no-store");
    expect(res.headers.get("Content-Type")).toBe("image/png");
    expect(await bytesOf(res)).toEqual(png);
    const ranged = await call(local(upload.downloadUrl), { headers: { Range: "bytes=0-3" } });
    expect(ranged.status).toBe(206);
    expect(await bytesOf(ranged)).toEqual(png.subarray(0, 4));
  });

  it("takes a chunked body too", async () => {
    const upload = await createUpload();
    const png = uniquePng();
    const body = chunkedBody(png, png.byteLength);
    expect((await put(upload.uploadUrl, body.stream)).status).toBe(201);
    expect(await bytesOf(await call(local(upload.downloadUrl)))).toEqual(png);
  });

  it("is never cached: a deleted upload is gone at once", async () => {
    const upload = await createUpload();
    await put(upload.uploadUrl, uniquePng());
    expect((await call(local(upload.downloadUrl))).status).toBe(200);
    await env.MEDIA.delete(`private/${upload.key}`);
    await expectError(await call(local(upload.downloadUrl)), 404, "media_not_found");
  });

  it("is not reachable through the public route", async () => {
    const upload = await createUpload();
    await put(upload.uploadUrl, uniquePng());
    await expectError(await call(`/media/${upload.key}`), 404, "media_not_found");
    await expectError(await call(`/media/private%2F${upload.key}`), 400, "invalid_request");
    await expectError(await call(`/media/private/${upload.key}`), 403, "invalid_signature");
  });

  it("answers 403 to a tampered signature, key or expiry", async () => {
    const upload = await createUpload();
    await put(upload.uploadUrl, uniquePng());
    const url = new URL(upload.downloadUrl);
    const sig = url.searchParams.get("sig") ?? "";
    const flipped = `${sig.slice(0, 10)}${sig[10] === "A" ? "B" : "A"}${sig.slice(11)}`;
    const other = await createUpload();
    for (const path of [
      `${url.pathname}?expires=${url.searchParams.get("expires")}&sig=${flipped}`,
      `${url.pathname}?expires=${Number(url.searchParams.get("expires")) + 3600}&sig=${sig}`,
      `/media/private/${other.key}${url.search}`,
      `${url.pathname}?expires=${url.searchParams.get("expires")}`,
      `${url.pathname}?sig=${sig}`,
      `${url.pathname}?expires=soon&sig=${sig}`,
      `${url.pathname}?expires=${url.searchParams.get("expires")}&sig=${sig}AAAA`,
    ]) {
      await expectError(await call(path), 403, "invalid_signature");
    }
  });

  it("answers 403 to an expired signature", async () => {
    const upload = await createUpload();
    await put(upload.uploadUrl, uniquePng());
    const expires = Math.floor(Date.now() / 1000) - 1;
    const path = `/media/private/${upload.key}`;
    const get = await signedPath(env.MEDIA_SIGNING_SECRET, path, { method: "GET", key: upload.key, expires });
    await expectError(await call(get), 403, "invalid_signature");
    const putPath = await signedPath(env.MEDIA_SIGNING_SECRET, path, {
      method: "PUT",
      key: upload.key,
      expires,
    });
    await expectError(await put(`http://x${putPath}`, uniquePng()), 403, "invalid_signature");
  });

  it("answers 403 when the signature was made for the other method", async () => {
    const upload = await createUpload();
    await expectError(await call(local(upload.uploadUrl)), 403, "invalid_signature");
    await expectError(await put(upload.downloadUrl, uniquePng()), 403, "invalid_signature");
    expect(await env.MEDIA.head(`private/${upload.key}`)).toBeNull();
  });

  it("applies the admin upload rules: type from the first bytes, 10 MiB", async () => {
    const upload = await createUpload("image/png");
    await expectError(await put(upload.uploadUrl, uniquePng(), "image/jpeg"), 415, "unsupported_media_type");
    await expectError(
      await put(upload.uploadUrl, new TextEncoder().encode("text"), "image/png"),
      415,
      "unsupported_media_type",
    );
    const huge = chunkedBody(uniquePng(), MEDIA_MAX_BYTES + 1);
    await expectError(await put(upload.uploadUrl, huge.stream), 413, "payload_too_large");
    await expectError(
      await put(upload.uploadUrl, uniquePng(), "image/png", {
        "content-length": String(MEDIA_MAX_BYTES + 1),
      }),
      413,
      "payload_too_large",
    );
    expect(await env.MEDIA.head(`private/${upload.key}`)).toBeNull();
  });
});
