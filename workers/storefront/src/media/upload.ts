import { AppError } from "../../../../domain/errors.ts";
import {
  contentAddressedKey,
  IMAGE_TYPES,
  type ImageType,
  imageTypeOfExtension,
  isImageType,
  MEDIA_MAX_BYTES,
  mediaUrl,
} from "../../../../domain/media.ts";
import { declaredLength, limitStream, peek, readAll } from "./body.ts";
import type { MediaDeps } from "./deps.ts";
import type { SignedGrantQuery, StoredUpload, UploadedMedia } from "./schemas.ts";
import { discard } from "./serve.ts";
import { verifyGrant } from "./signing.ts";
import { SNIFF_BYTES, sniffImageType } from "./sniff.ts";
import {
  objectExists,
  PRIVATE_CACHE_CONTROL,
  PUBLIC_CACHE_CONTROL,
  privateObjectKey,
  putObject,
} from "./store.ts";

/** A raw upload: its headers (Content-Type, Content-Length) and its body, not yet read. */
export interface Upload {
  headers: Headers;
  body: ReadableStream<Uint8Array> | null;
}

const unsupported = (message: string) => new AppError("unsupported_media_type", message);

/** The allowed image type the request's Content-Type names, else 415. */
export const declaredImageType = (headers: Headers): ImageType => {
  const essence = (headers.get("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (!isImageType(essence)) {
    throw unsupported(`Content-Type must be one of ${IMAGE_TYPES.join(", ")}, not "${essence}"`);
  }
  return essence;
};

/** The file's own bytes must say it is the declared type. */
const requireSniffed = (head: Uint8Array, declared: ImageType): void => {
  const sniffed = sniffImageType(head);
  if (sniffed === null)
    throw unsupported(`the body is not an image of an allowed type (${declared} declared)`);
  if (sniffed !== declared) throw unsupported(`the body is ${sniffed}, but Content-Type says ${declared}`);
};

/**
 * Admin upload of a public image. The body is read (at most 10 MiB) because the stored key is
 * content-addressed, `<sha256 prefix>-<name>.<ext>`: the same bytes always land on the same key, so
 * an object is written once and never changes.
 */
export const uploadImage = async (deps: MediaDeps, name: string, upload: Upload): Promise<UploadedMedia> => {
  const declared = declaredImageType(upload.headers);
  declaredLength(upload.headers, MEDIA_MAX_BYTES);
  const bytes = upload.body
    ? await readAll(upload.body.pipeThrough(limitStream(MEDIA_MAX_BYTES)))
    : new Uint8Array(0);
  requireSniffed(bytes.subarray(0, SNIFF_BYTES), declared);
  const key = await contentAddressedKey(name, declared, bytes);
  if (!(await objectExists(deps.bucket, key))) {
    await putObject(deps.bucket, key, bytes, {
      contentType: declared,
      cacheControl: PUBLIC_CACHE_CONTROL,
      customMetadata: { uploadedAs: name },
    });
  }
  return { key, url: mediaUrl(deps.mediaBaseUrl, key) };
};

/** Streams a body of known length into R2; a chunked body (at most the limit) is read first. */
const putPrivate = async (
  deps: MediaDeps,
  objectKey: string,
  body: ReadableStream<Uint8Array>,
  length: number | null,
  contentType: ImageType,
): Promise<R2Object> => {
  const metadata = { contentType, cacheControl: PRIVATE_CACHE_CONTROL };
  if (length === null) return putObject(deps.bucket, objectKey, await readAll(body), metadata);
  const sized = new FixedLengthStream(length);
  const [piped, put] = await Promise.allSettled([
    body.pipeTo(sized.writable),
    putObject(deps.bucket, objectKey, sized.readable, metadata),
  ]);
  if (piped.status === "rejected" && piped.reason instanceof AppError) throw piped.reason;
  if (put.status === "rejected") throw put.reason;
  if (piped.status === "rejected") {
    throw new AppError("invalid_request", "the upload body ended before its Content-Length", {
      cause: piped.reason,
    });
  }
  return put.value;
};

/**
 * A user upload through a signed URL: the signature must grant PUT on this key until a future
 * instant; the type is the one the key was issued for (its extension), checked against the
 * Content-Type and the file's first bytes. Stored under `private/`, streamed when the length is known.
 */
export const storePrivateUpload = async (
  deps: MediaDeps,
  key: string,
  grant: SignedGrantQuery,
  upload: Upload,
): Promise<StoredUpload> => {
  await verifyGrant(deps.signingSecret, { method: "PUT", key, ...grant }, Math.floor(deps.now() / 1000));
  const expected = imageTypeOfExtension(key.split(".").pop() ?? "");
  if (!expected) throw unsupported("this key takes no image type");
  const declared = declaredImageType(upload.headers);
  if (declared !== expected) throw unsupported(`this upload URL takes ${expected}, not ${declared}`);
  const length = declaredLength(upload.headers, MEDIA_MAX_BYTES);
  if (!upload.body) throw unsupported("the body is empty");
  const { head, body } = await peek(upload.body.pipeThrough(limitStream(MEDIA_MAX_BYTES)), SNIFF_BYTES);
  try {
    requireSniffed(head, expected);
  } catch (error) {
    discard(body);
    throw error;
  }
  const stored = await putPrivate(deps, privateObjectKey(key), body, length, expected);
  return { key, contentType: expected, size: stored.size };
};
