/**
 * The closed set of error codes of the HTTP contract, each with its status.
 * Domain code throws `AppError`; one `onError` per worker turns it into the contract's body.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  idempotency_key_required: 400,
  unauthorized: 401,
  /** Sign-in with an unknown email or a wrong password: one answer for both. */
  invalid_credentials: 401,
  invalid_signature: 403,
  not_found: 404,
  product_not_found: 404,
  cart_not_found: 404,
  order_not_found: 404,
  media_not_found: 404,
  price_list_not_found: 404,
  cart_empty: 409,
  checkout_in_progress: 409,
  out_of_stock: 409,
  /** A checkout of a cart holding a variant that no longer exists (`details.items: [{variantId}]`); nothing was held. */
  item_unavailable: 409,
  /** Sign-up with an email that already has an account. */
  email_taken: 409,
  /** An admin stock delta that would take `available` below zero; nothing was changed. */
  insufficient_stock: 409,
  /** An admin cancellation of an order the warehouse has shipped; nothing was changed. */
  order_already_shipped: 409,
  /** An admin write whose `If-Match` version is no longer the current one; nothing was changed. */
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  quantity_limit: 422,
  /** A cart add that names a product with several variants without `variantId`. */
  variant_required: 422,
  /** A checkout whose order is over the maximum value, or a line over the maximum amount; nothing was held. */
  amount_limit: 422,
  idempotency_key_mismatch: 422,
  rate_limited: 429,
  internal_error: 500,
  /** A worker setting is missing or malformed (named in `details.settings`): a deployment to fix. */
  config_error: 500,
  order_queue_unavailable: 503,
  dependency_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export type ErrorStatus = (typeof ERROR_STATUS)[ErrorCode];

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;
  /** Seconds a client should wait before retrying (sent as `Retry-After`). */
  readonly retryAfter: number | undefined;
  /** Further headers the answer carries (e.g. `Content-Range` on a 416). */
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      details?: unknown;
      cause?: unknown;
      retryAfter?: number;
      headers?: Readonly<Record<string, string>>;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.details = options.details;
    this.retryAfter = options.retryAfter;
    this.headers = options.headers;
  }

  get status(): ErrorStatus {
    return ERROR_STATUS[this.code];
  }

  toBody(): ErrorBody {
    const error: ErrorBody["error"] = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

export const isAppError = (value: unknown): value is AppError => value instanceof AppError;
