import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodError } from "zod";
import { AppError } from "../../domain/errors.ts";
import { log } from "./log.ts";

const respond = (c: Context, error: AppError): Response => {
  if (error.retryAfter !== undefined) c.header("Retry-After", String(error.retryAfter));
  for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
  return c.json(error.toBody(), error.status);
};

/** The one place that turns thrown errors into the contract's error body. */
export const onError: ErrorHandler = (error, c) => {
  if (error instanceof AppError) {
    if (error.status >= 500)
      log("warn", error.message, { code: error.code, requestId: c.get("requestId"), error: error.cause });
    return respond(c, error);
  }
  if (error instanceof HTTPException && error.status === 413) {
    return respond(c, new AppError("payload_too_large", "request body is too large"));
  }
  if (error instanceof HTTPException && error.status < 500) {
    return respond(c, new AppError("invalid_request", error.message || "invalid request"));
  }
  log("error", "unhandled error", { requestId: c.get("requestId"), path: c.req.path, error });
  return respond(c, new AppError("internal_error", "internal error"));
};

export const onNotFound: NotFoundHandler = (c) =>
  respond(c, new AppError("not_found", `no route for ${c.req.method} ${c.req.path}`));

/** Issues named in one validation answer at most: enough to fix a request, bounded whatever its size. */
export const MAX_VALIDATION_ISSUES = 100;

/** Validation failures of every route, in one shape. */
export const validationError = (error: ZodError): AppError =>
  new AppError("invalid_request", "request failed validation", {
    details: error.issues
      .slice(0, MAX_VALIDATION_ISSUES)
      .map((issue) => ({ path: issue.path, code: issue.code, message: issue.message })),
  });
