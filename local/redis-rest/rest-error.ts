import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * The one error type of the REST endpoint: its message is what the client sees in `{"error": ...}`,
 * its status the HTTP status (400 for bad commands, 401, 5xx when Redis cannot be reached).
 */
export class RestError extends Error {
  override readonly name = "RestError";
  readonly status: ContentfulStatusCode;

  constructor(status: ContentfulStatusCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

export const badRequest = (message: string, cause?: unknown): RestError =>
  new RestError(400, message, cause === undefined ? undefined : { cause });
