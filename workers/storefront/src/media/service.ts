import { AppError } from "../../../../domain/errors.ts";
import { randomToken } from "../../../../domain/ids.ts";
import { IMAGE_EXTENSIONS, IMAGE_TYPES, isImageType } from "../../../../domain/media.ts";
import { log } from "../../../platform/log.ts";
import type { MediaDeps } from "./deps.ts";
import { cachedMedia, cacheMedia } from "./edge-cache.ts";
import type { SignedGrantQuery, SignedUpload } from "./schemas.ts";
import { answerFor, type MediaAnswer } from "./serve.ts";
import { signedPath, verifyGrant } from "./signing.ts";
import { getObject, PRIVATE_CACHE_CONTROL, PUBLIC_CACHE_CONTROL, privateObjectKey } from "./store.ts";

/** How long the URLs of a signed upload work. */
export const SIGNED_URL_TTL_SECONDS = 15 * 60;

const notFound = (key: string) => new AppError("media_not_found", `no media with key ${key}`);

const edge = (answer: MediaAnswer, status: "HIT" | "MISS"): MediaAnswer => {
  answer.headers.set("X-Edge-Cache", status);
  return answer;
};

/**
 * A public image: from the edge cache when this colo has it (R2 is not touched), else streamed from
 * R2 while a copy of the same stream fills the cache in the background.
 */
export const readPublicMedia = async (
  deps: MediaDeps,
  key: string,
  request: Headers,
): Promise<MediaAnswer> => {
  const cached = await cachedMedia(deps.cache, key);
  if (cached) return edge(answerFor(request, cached), "HIT");
  const stored = await getObject(deps.bucket, key, PUBLIC_CACHE_CONTROL);
  if (!stored) throw notFound(key);
  const [toCache, toClient] = stored.body.tee();
  deps.background(
    cacheMedia(deps.cache, key, { headers: stored.headers, body: toCache }).catch((error: unknown) =>
      log("warn", "media edge cache put failed", { key, error }),
    ),
  );
  return edge(answerFor(request, { headers: stored.headers, body: toClient }), "MISS");
};

/** A user upload, while the URL's signature grants GET on it; never cached by anyone. */
export const readPrivateMedia = async (
  deps: MediaDeps,
  key: string,
  grant: SignedGrantQuery,
  request: Headers,
): Promise<MediaAnswer> => {
  await verifyGrant(deps.signingSecret, { method: "GET", key, ...grant }, Math.floor(deps.now() / 1000));
  const stored = await getObject(deps.bucket, privateObjectKey(key), PRIVATE_CACHE_CONTROL);
  if (!stored) throw notFound(key);
  return answerFor(request, stored);
};

/**
 * A new private key (128 random bits, with the extension of the promised type) and signed URLs to
 * PUT it and GET it back, both valid for SIGNED_URL_TTL_SECONDS.
 */
export const createSignedUpload = async (deps: MediaDeps, contentType: string): Promise<SignedUpload> => {
  if (!isImageType(contentType)) {
    throw new AppError(
      "unsupported_media_type",
      `contentType must be one of ${IMAGE_TYPES.join(", ")}, not "${contentType}"`,
    );
  }
  const key = `${randomToken()}.${IMAGE_EXTENSIONS[contentType]}`;
  const expires = Math.floor(deps.now() / 1000) + SIGNED_URL_TTL_SECONDS;
  const path = `/media/private/${key}`;
  const [upload, download] = await Promise.all([
    signedPath(deps.signingSecret, path, { method: "PUT", key, expires }),
    signedPath(deps.signingSecret, path, { method: "GET", key, expires }),
  ]);
  return {
    key,
    uploadUrl: `${deps.origin}${upload}`,
    downloadUrl: `${deps.origin}${download}`,
    expiresAt: new Date(expires * 1000).toISOString(),
  };
};
