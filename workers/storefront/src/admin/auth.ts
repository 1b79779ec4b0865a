import type { MiddlewareHandler } from "hono";
import { timingSafeEqual } from "hono/utils/buffer";
import { AppError } from "../../../../domain/errors.ts";
import type { StorefrontEnv } from "../env.ts";

/** OpenAPI security requirement of every admin route (the scheme is registered in docs.ts). */
export const adminSecurity = [{ adminToken: [] }];

/** Admin routes need `Authorization: Bearer $ADMIN_TOKEN`, compared in constant time. */
export const adminAuth: MiddlewareHandler<StorefrontEnv> = async (c, next) => {
  const [scheme, token] = (c.req.header("Authorization") ?? "").split(" ", 2);
  const expected = c.env.ADMIN_TOKEN;
  const valid = scheme === "Bearer" && !!token && !!expected && (await timingSafeEqual(token, expected));
  if (!valid) {
    c.header("WWW-Authenticate", 'Bearer realm="admin"');
    throw new AppError("unauthorized", "a valid admin bearer token is required");
  }
  await next();
};
