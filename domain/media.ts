import { z } from "zod";

/**
 * Media keys, image types and the content-addressed key scheme, shared by the storefront worker
 * (uploads) and the seed (which sets `products.image_keys` without a running worker).
 */

export const MEDIA_KEY_PATTERN = /^[A-Za-z0-9._-]{1,200}$/;
export const MEDIA_KEY_RULE = "media key: 1-200 of A-Z a-z 0-9 . _ -";
export const MediaKeySchema = z.string().regex(MEDIA_KEY_PATTERN, MEDIA_KEY_RULE);

/** Image types an upload may be; each with the extension its stored key ends in. */
export const IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp", "image/avif", "image/gif"] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];

export const IMAGE_EXTENSIONS: Record<ImageType, string> = {
  "image/jpeg": "jpg",
  "image/png": "png",
  "image/webp": "webp",
  "image/avif": "avif",
  "image/gif": "gif",
};

export const isImageType = (value: string): value is ImageType =>
  (IMAGE_TYPES as readonly string[]).includes(value);

/** The image type a file extension stands for (`jpeg` too), if any. */
export const imageTypeOfExtension = (extension: string): ImageType | undefined => {
  const ext = extension.toLowerCase();
  if (ext === "jpeg") return "image/jpeg";
  return IMAGE_TYPES.find((type) => IMAGE_EXTENSIONS[type] === ext);
};

/** Largest media upload, admin or user: 10 MiB. */
export const MEDIA_MAX_BYTES = 10 * 1024 * 1024;

/** Hex digits of the SHA-256 of the content that start every stored key. */
export const CONTENT_HASH_LENGTH = 16;
const HASH_PREFIX = new RegExp(`^[0-9a-f]{${CONTENT_HASH_LENGTH}}-`);
const IMAGE_EXTENSION = /\.(jpe?g|png|webp|avif|gif)$/i;

/**
 * The readable part of a stored key, from the name an admin uploads under: without an image
 * extension or an earlier hash prefix (so re-uploading under a returned key gives that key back).
 */
export const mediaName = (name: string): string => {
  const ext = IMAGE_EXTENSIONS["image/avif"].length;
  const max = 200 - CONTENT_HASH_LENGTH - 2 - ext;
  const base = name
    .replace(IMAGE_EXTENSION, "")
    .replace(HASH_PREFIX, "")
    .replace(/^[.]+|[.]+$/g, "")
    .slice(0, max);
  return base || "image";
};

const hex = (bytes: ArrayBuffer): string =>
  Array.from(new Uint8Array(bytes), (byte) => byte.toString(16).padStart(2, "0")).join("");

/**
 * The immutable key of an image: `<first 16 hex of its SHA-256>-<name>.<ext>`. The same bytes always
 * get the same key and changed bytes a new one, so a cached URL never needs purging.
 */
export const contentAddressedKey = async (
  name: string,
  type: ImageType,
  bytes: Uint8Array<ArrayBuffer>,
): Promise<string> => {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return `${hex(digest).slice(0, CONTENT_HASH_LENGTH)}-${mediaName(name)}.${IMAGE_EXTENSIONS[type]}`;
};

/** Absolute URL of a public media key under `MEDIA_BASE_URL` (the CDN base). */
export const mediaUrl = (mediaBaseUrl: string, key: string): string =>
  `${mediaBaseUrl.replace(/\/+$/, "")}/${key}`;
