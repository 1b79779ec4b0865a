export { MEDIA_UPLOAD_PATHS, mediaRoutes } from "./routes.ts";
export type { SignedUpload, UploadedMedia } from "./schemas.ts";
export { SIGNED_URL_TTL_SECONDS } from "./service.ts";
