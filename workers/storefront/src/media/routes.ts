import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { IMAGE_TYPES } from "../../../../domain/media.ts";
import { errorResponses, jsonContent } from "../../../platform/openapi.ts";
import { rateLimit } from "../../../platform/rate-limit.ts";
import { adminAuth, adminSecurity } from "../admin/auth.ts";
import type { StorefrontEnv } from "../env.ts";
import { mediaDeps } from "./deps.ts";
import {
  CreateUploadSchema,
  MediaKeyParamsSchema,
  MediaReadHeadersSchema,
  SignedGrantQuerySchema,
  SignedUploadSchema,
  StoredUploadSchema,
  UploadedMediaSchema,
} from "./schemas.ts";
import type { MediaAnswer } from "./serve.ts";
import { createSignedUpload, readPrivateMedia, readPublicMedia } from "./service.ts";
import { storePrivateUpload, uploadImage } from "./upload.ts";

const binary = { type: "string" as const, format: "binary" };
const imageBody = {
  required: true,
  description: "the raw image, at most 10 MiB; its first bytes must agree with Content-Type",
  content: Object.fromEntries(IMAGE_TYPES.map((type) => [type, { schema: binary }])),
};
const imageContent = { "image/*": { schema: binary } };
const header = (description: string) => ({ description, schema: { type: "string" as const } });
const mediaHeaders = {
  "Cache-Control": header("public, max-age=31536000, immutable (private, no-store for user uploads)"),
  ETag: header("R2's entity tag"),
  "Accept-Ranges": header("bytes"),
};
const readResponses = {
  200: { description: "the image", headers: mediaHeaders, content: imageContent },
  206: {
    description: "the requested byte range",
    headers: { ...mediaHeaders, "Content-Range": header("bytes start-end/size") },
    content: imageContent,
  },
  304: { description: "not modified (If-None-Match)" },
};
const uploadErrors = ["invalid_request", "payload_too_large", "unsupported_media_type"] as const;

const putAdminMediaRoute = createRoute({
  method: "put",
  path: "/v1/admin/media/{key}",
  tags: ["admin", "media"],
  summary: "Upload a public image; stored under a content-addressed, immutable key",
  security: adminSecurity,
  middleware: [adminAuth],
  request: { params: MediaKeyParamsSchema, body: imageBody },
  responses: {
    201: jsonContent(UploadedMediaSchema, "the stored key and its CDN URL"),
    ...errorResponses(...uploadErrors, "unauthorized", "dependency_unavailable"),
  },
});

const getMediaRoute = createRoute({
  method: "get",
  path: "/media/{key}",
  tags: ["media"],
  summary: "A public image from R2 through the edge cache; ETag/304 and byte ranges",
  request: { params: MediaKeyParamsSchema, headers: MediaReadHeadersSchema },
  responses: {
    ...readResponses,
    ...errorResponses(
      "invalid_request",
      "media_not_found",
      "range_not_satisfiable",
      "dependency_unavailable",
    ),
  },
});

/** Per-client limit on signed upload grants: UPLOAD_RATE_LIMIT per UPLOAD_RATE_WINDOW_SECONDS. */
const uploadRateLimit = rateLimit<StorefrontEnv>((c) => ({
  name: "upload",
  what: "upload requests",
  limit: c.var.settings.UPLOAD_RATE_LIMIT,
  windowSeconds: c.var.settings.UPLOAD_RATE_WINDOW_SECONDS,
}));

const createUploadRoute = createRoute({
  method: "post",
  path: "/v1/uploads",
  tags: ["media"],
  summary: "Signed, expiring URLs to upload a user image privately and read it back",
  description:
    "Rate-limited per client IP (`UPLOAD_RATE_LIMIT` per `UPLOAD_RATE_WINDOW_SECONDS`; 429 `rate_limited` with `Retry-After`).",
  middleware: [uploadRateLimit],
  request: { body: { required: true, content: { "application/json": { schema: CreateUploadSchema } } } },
  responses: {
    201: jsonContent(SignedUploadSchema, "the private key and its signed URLs"),
    ...errorResponses(...uploadErrors, "rate_limited"),
  },
});

const putPrivateMediaRoute = createRoute({
  method: "put",
  path: "/media/private/{key}",
  tags: ["media"],
  summary: "Store a user image through its signed upload URL",
  request: { params: MediaKeyParamsSchema, query: SignedGrantQuerySchema, body: imageBody },
  responses: {
    201: jsonContent(StoredUploadSchema, "the stored upload"),
    ...errorResponses(...uploadErrors, "invalid_signature", "dependency_unavailable"),
  },
});

const getPrivateMediaRoute = createRoute({
  method: "get",
  path: "/media/private/{key}",
  tags: ["media"],
  summary: "A user image through its signed download URL (never cached)",
  request: { params: MediaKeyParamsSchema, query: SignedGrantQuerySchema, headers: MediaReadHeadersSchema },
  responses: {
    ...readResponses,
    ...errorResponses(
      "invalid_request",
      "invalid_signature",
      "media_not_found",
      "range_not_satisfiable",
      "dependency_unavailable",
    ),
  },
});

/** Paths whose bodies are media (10 MiB, streamed), not JSON (64 KiB). `/media/*` is outside /v1. */
export const MEDIA_UPLOAD_PATHS = ["/v1/admin/media/*"];

const send = (c: Context, answer: MediaAnswer): Response => {
  const headers = Object.fromEntries(answer.headers);
  return answer.status === 304
    ? c.body(null, answer.status, headers)
    : c.body(answer.body, answer.status, headers);
};

const upload = (c: Context) => ({ headers: c.req.raw.headers, body: c.req.raw.body });

export const mediaRoutes = new OpenAPIHono<StorefrontEnv>()
  .openapi(putAdminMediaRoute, async (c) => {
    const uploaded = await uploadImage(mediaDeps(c), c.req.valid("param").key, upload(c));
    return c.json(uploaded, 201);
  })
  .openapi(getMediaRoute, async (c) =>
    send(c, await readPublicMedia(mediaDeps(c), c.req.valid("param").key, c.req.raw.headers)),
  )
  .openapi(createUploadRoute, async (c) => {
    return c.json(await createSignedUpload(mediaDeps(c), c.req.valid("json").contentType), 201);
  })
  .openapi(putPrivateMediaRoute, async (c) => {
    const { key } = c.req.valid("param");
    return c.json(await storePrivateUpload(mediaDeps(c), key, c.req.valid("query"), upload(c)), 201);
  })
  .openapi(getPrivateMediaRoute, async (c) => {
    const { key } = c.req.valid("param");
    return send(c, await readPrivateMedia(mediaDeps(c), key, c.req.valid("query"), c.req.raw.headers));
  });
