import { AppError } from "../../../../domain/errors.ts";

/**
 * The R2 bucket behind `/media`. Public images are top-level objects named by their key; user
 * uploads live under `private/`. A media key never contains `/`, so no public key reaches a private
 * object.
 */

export const PRIVATE_PREFIX = "private/";
export const PUBLIC_CACHE_CONTROL = "public, max-age=31536000, immutable";
export const PRIVATE_CACHE_CONTROL = "private, no-store";

export const privateObjectKey = (key: string): string => `${PRIVATE_PREFIX}${key}`;

export interface StoredObject {
  /** Content-Type, Content-Length, ETag, Last-Modified, Cache-Control and friends. */
  headers: Headers;
  body: ReadableStream<Uint8Array>;
}

export interface PutMetadata {
  contentType: string;
  cacheControl: string;
  customMetadata?: Record<string, string>;
}

const r2 = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
  try {
    return await run();
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError("dependency_unavailable", `media storage ${operation} failed`, {
      cause: error,
      retryAfter: 1,
    });
  }
};

/** Answer headers of a stored object; `cacheControl` says who may keep it. */
export const objectHeaders = (object: R2Object, cacheControl: string): Headers =>
  new Headers({
    "Content-Type": object.httpMetadata?.contentType ?? "application/octet-stream",
    "Content-Length": String(object.size),
    ETag: object.httpEtag,
    "Last-Modified": object.uploaded.toUTCString(),
    "Cache-Control": cacheControl,
    "Accept-Ranges": "bytes",
    "X-Content-Type-Options": "nosniff",
  });

export const objectExists = (bucket: R2Bucket, objectKey: string): Promise<boolean> =>
  r2("head", async () => (await bucket.head(objectKey)) !== null);

/** The whole object as a stream straight from R2 (never read into memory), or null. */
export const getObject = (
  bucket: R2Bucket,
  objectKey: string,
  cacheControl: string,
): Promise<StoredObject | null> =>
  r2("get", async () => {
    const object = await bucket.get(objectKey);
    return object ? { headers: objectHeaders(object, cacheControl), body: object.body } : null;
  });

/** Stores bytes, or a stream of known length (a `FixedLengthStream` or a sized request body). */
export const putObject = (
  bucket: R2Bucket,
  objectKey: string,
  body: ReadableStream<Uint8Array> | Uint8Array,
  metadata: PutMetadata,
): Promise<R2Object> =>
  r2("put", () =>
    bucket.put(objectKey, body, {
      httpMetadata: { contentType: metadata.contentType, cacheControl: metadata.cacheControl },
      customMetadata: metadata.customMetadata ?? {},
    }),
  );
