import type { Context } from "hono";
import type { StorefrontEnv } from "../env.ts";

/** What the media functions need, taken from the request's bindings (never module state). */
export interface MediaDeps {
  bucket: R2Bucket;
  cache: Cache;
  /** Absolute base of public media URLs (the CDN in front of `/media`). */
  mediaBaseUrl: string;
  signingSecret: string;
  /** Origin of this worker, which answers the signed URLs it hands out. */
  origin: string;
  /** Milliseconds since the epoch. */
  now: () => number;
  background: (work: Promise<unknown>) => void;
}

export const mediaDeps = (c: Context<StorefrontEnv>): MediaDeps => ({
  bucket: c.env.MEDIA,
  cache: caches.default,
  mediaBaseUrl: c.env.MEDIA_BASE_URL,
  signingSecret: c.env.MEDIA_SIGNING_SECRET,
  origin: new URL(c.req.url).origin,
  now: Date.now,
  background: (work) => c.executionCtx.waitUntil(work),
});
