import { z } from "@hono/zod-openapi";
import { IMAGE_TYPES, MEDIA_KEY_PATTERN, MEDIA_KEY_RULE } from "../../../../domain/media.ts";

/**
 * The shared media key rule, declared with the OpenAPI-extended zod: `.openapi()` exists only on
 * schemas created after @hono/zod-openapi loaded, whatever order the domain modules load in.
 */
const MediaKeySchema = z.string().regex(MEDIA_KEY_PATTERN, MEDIA_KEY_RULE);

export const MediaKeyParamsSchema = z.object({
  key: MediaKeySchema.openapi({ param: { name: "key", in: "path" }, example: "walnut-desk-front.webp" }),
});

export const UploadedMediaSchema = z
  .object({
    key: MediaKeySchema.openapi({
      description: "the stored, immutable key: `<first 16 hex of the SHA-256>-<name>.<ext>`",
      example: "3f2a9c0d1e2b4a5c-walnut-desk-front.webp",
    }),
    url: z.url().openapi({ description: "absolute URL under MEDIA_BASE_URL (the CDN)" }),
  })
  .openapi("UploadedMedia");
export type UploadedMedia = z.infer<typeof UploadedMediaSchema>;

export const CreateUploadSchema = z
  .strictObject({
    contentType: z
      .string()
      .trim()
      .toLowerCase()
      .min(1)
      .max(100)
      .openapi({ description: `one of ${IMAGE_TYPES.join(", ")} (else 415)`, example: "image/jpeg" }),
  })
  .openapi("CreateUpload");

export const SignedUploadSchema = z
  .object({
    key: MediaKeySchema,
    uploadUrl: z
      .url()
      .openapi({ description: "PUT the image here (same type and size rules as admin uploads)" }),
    downloadUrl: z.url().openapi({ description: "GET the stored image back" }),
    expiresAt: z.iso.datetime().openapi({ description: "when both URLs stop working" }),
  })
  .openapi("SignedUpload");
export type SignedUpload = z.infer<typeof SignedUploadSchema>;

/** Query of a signed URL; a missing or malformed value is a 403 invalid_signature, like a wrong one. */
export const SignedGrantQuerySchema = z.object({
  expires: z.string().optional().openapi({ description: "unix seconds", example: "1767225600" }),
  sig: z.string().optional().openapi({ description: "base64url HMAC-SHA256 of method, key and expiry" }),
});
export type SignedGrantQuery = z.infer<typeof SignedGrantQuerySchema>;

export const StoredUploadSchema = z
  .object({ key: MediaKeySchema, contentType: z.enum(IMAGE_TYPES), size: z.number().int().nonnegative() })
  .openapi("StoredUpload");
export type StoredUpload = z.infer<typeof StoredUploadSchema>;

/** Conditional and range request headers of media reads (documented; answered by serve.ts). */
export const MediaReadHeadersSchema = z.object({
  range: z.string().optional().openapi({ description: "one `bytes=` range; 206, or 416 if unsatisfiable" }),
  "if-none-match": z.string().optional().openapi({ description: "304 when it matches the ETag" }),
});
