import { env } from "cloudflare:test";
import { encode } from "fast-png";
import type { EnvOverrides } from "../../../platform/test-support.ts";
import { call } from "../test-support.ts";

/** Images for the media tests: real PNGs (unique per call, so keys never collide) and tiny real files. */

export const uniquePng = (size = 8): Uint8Array<ArrayBuffer> => {
  const data = crypto.getRandomValues(new Uint8Array(size * size * 4));
  return new Uint8Array(encode({ width: size, height: size, data, channels: 4, depth: 8 }));
};

const fromBase64 = (value: string): Uint8Array<ArrayBuffer> =>
  Uint8Array.from(atob(value), (char) => char.charCodeAt(0));

/** 1x1 GIF and WebP (lossless) files, as their encoders write them. */
export const GIF_1X1 = fromBase64("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7");
export const WEBP_1X1 = fromBase64("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==");
/** The start of a JPEG file: SOI, then a JFIF APP0 segment. */
export const JPEG_HEAD = Uint8Array.from([
  0xff,
  0xd8,
  0xff,
  0xe0,
  0x00,
  0x10,
  ...new TextEncoder().encode("JFIF"),
  0x00,
  0x01,
  0x01,
  0x00,
  0x00,
  0x01,
  0x00,
  0x01,
  0x00,
  0x00,
  0xff,
  0xd9,
]);
/** The `ftyp` box an AVIF file starts with (major brand avif, compatible mif1 miaf MA1B). */
export const AVIF_HEAD = Uint8Array.from([
  0x00,
  0x00,
  0x00,
  0x20,
  ...new TextEncoder().encode("ftypavif"),
  0x00,
  0x00,
  0x00,
  0x00,
  ...new TextEncoder().encode("avifmif1miafMA1B"),
]);

/**
 * A body that arrives in 64 KiB chunks (no Content-Length, like a chunked upload): `head`, then zeros
 * up to `total` bytes. Counts what was pulled, so a test can see the upload stopped early.
 */
export const chunkedBody = (head: Uint8Array, total: number) => {
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) return controller.close();
      const chunk = new Uint8Array(Math.min(64 * 1024, total - sent));
      if (sent === 0) chunk.set(head.subarray(0, chunk.byteLength));
      sent += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  return { stream, pulled: () => sent };
};

export const adminUpload = (
  name: string,
  body: BodyInit | null,
  contentType: string | null = "image/png",
  headers: Record<string, string> = {},
  overrides: EnvOverrides = {},
): Promise<Response> =>
  call(
    `/v1/admin/media/${name}`,
    {
      method: "PUT",
      headers: {
        authorization: `Bearer ${env.ADMIN_TOKEN}`,
        ...(contentType === null ? {} : { "content-type": contentType }),
        ...headers,
      },
      body,
    },
    overrides,
  );

export const bytesOf = async (res: Response): Promise<Uint8Array> => new Uint8Array(await res.arrayBuffer());
