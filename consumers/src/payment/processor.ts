import type { Currency } from "../../../domain/money.ts";

/**
 * What the payment step needs of a card processor (Stripe-like). The order id is the idempotency
 * key of every call: authorizing the same order again returns the first result and never creates a
 * second authorization; capturing or voiding twice is a no-op.
 */
export interface PaymentProcessor {
  authorize(request: AuthorizeRequest): Promise<AuthorizeResult>;
  /** Takes the money of the order's authorization. */
  capture(orderId: string): Promise<void>;
  /** Cancels the order's authorization (the compensation of `authorize`); the hold on the card ends. */
  void(orderId: string): Promise<void>;
  /** Gives the captured money of the order back (a merchant cancelled it before it shipped). */
  refund(orderId: string): Promise<void>;
}

export interface AuthorizeRequest {
  /** The idempotency key. */
  orderId: string;
  amountCents: number;
  currency: Currency;
  token: string;
}

export type AuthorizeResult = { status: "authorized"; ref: string } | { status: "declined"; code: string };

/** The processor could not be reached or failed in a way worth retrying (timeouts, 5xx, rate limits). */
export class PaymentProcessorUnavailableError extends Error {
  readonly transient = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PaymentProcessorUnavailableError";
  }
}

/** The processor refused the request itself (reused idempotency key, capture of a voided payment ...). */
export class PaymentProcessorRequestError extends Error {
  readonly transient = false;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PaymentProcessorRequestError";
  }
}
