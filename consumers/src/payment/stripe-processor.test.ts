import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PaymentProcessorRequestError, PaymentProcessorUnavailableError } from "./processor.ts";
import { createStripeProcessor } from "./stripe-processor.ts";

/**
 * The Stripe processor at its HTTP boundary. Stripe cannot be reached from the tests, so a local
 * server answers as Stripe's API reference describes (https://docs.stripe.com/api): PaymentMethods,
 * PaymentIntents (create with confirm, retrieve, capture, cancel), Refunds, and its error object
 * (`{"error":{"type","code","decline_code"?,"param"?,"message","payment_intent"?}}` with 400, 401,
 * 402, 409, 429 or 5xx). Each test checks what the SDK sent (method, path, form fields, the
 * Idempotency-Key, the key and API version headers) and what the processor made of the answer.
 */

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  form: Record<string, string>;
  headers: IncomingMessage["headers"];
}

type Answer = { status: number; body: unknown; headers?: Record<string, string> } | "hang";
type Route = (request: Seen) => Answer;

const SECRET = "sk_test_51StandIn";
const seen: Seen[] = [];
let route: Route = () => ({ status: 500, body: {} });
let server: Server;
let apiUrl = "";

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
};

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://stripe.test");
    const request: Seen = {
      method: req.method ?? "",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      form: Object.fromEntries(new URLSearchParams(await readBody(req))),
      headers: req.headers,
    };
    seen.push(request);
    const answer = route(request);
    if (answer === "hang") return;
    res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
    res.end(JSON.stringify(answer.body));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
});
beforeEach(() => {
  seen.length = 0;
});

const processor = (options: { maxNetworkRetries?: number; timeoutMs?: number } = {}) =>
  createStripeProcessor({
    secretKey: SECRET,
    apiUrl,
    timeoutMs: options.timeoutMs ?? 5_000,
    maxNetworkRetries: options.maxNetworkRetries ?? 0,
  });

const intent = (status: string, extra: Record<string, unknown> = {}) => ({
  id: "pi_3Std",
  object: "payment_intent",
  amount: 4_200,
  amount_capturable: status === "requires_capture" ? 4_200 : 0,
  currency: "usd",
  capture_method: "manual",
  status,
  last_payment_error: null,
  metadata: { order_id: "ord_1" },
  ...extra,
});
const paymentMethod = { id: "pm_1Std", object: "payment_method", type: "card" };
const stripeError = (status: number, error: Record<string, unknown>, headers?: Record<string, string>) => ({
  status,
  body: { error: { message: "as Stripe words it", ...error } },
  headers,
});
const ok = (body: unknown): Answer => ({ status: 200, body });

/** Answers as Stripe does for a token's PaymentMethod, then `onIntent` for the PaymentIntent. */
const authorizeRoute =
  (onIntent: Route): Route =>
  (request) =>
    request.path === "/v1/payment_methods" ? ok(paymentMethod) : onIntent(request);

const order = { orderId: "ord_1", amountCents: 4_200, currency: "USD" as const, token: "tok_visa" };

describe("the Stripe processor at Stripe's HTTP boundary", () => {
  it("authorizes a token: a PaymentMethod from card[token], then a manual-capture PaymentIntent confirmed at once", async () => {
    route = authorizeRoute(() => ok(intent("requires_capture")));
    await expect(processor().authorize(order)).resolves.toEqual({ status: "authorized", ref: "pi_3Std" });

    expect(seen.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /v1/payment_methods",
      "POST /v1/payment_intents",
    ]);
    const [method, create] = seen;
    expect(method?.form).toEqual({ type: "card", "card[token]": "tok_visa" });
    expect(method?.headers["idempotency-key"]).toBe("ord_1:payment-method");
    expect(create?.form).toEqual({
      amount: "4200",
      currency: "usd",
      capture_method: "manual",
      confirm: "true",
      payment_method: "pm_1Std",
      "automatic_payment_methods[enabled]": "true",
      "automatic_payment_methods[allow_redirects]": "never",
      "metadata[order_id]": "ord_1",
    });
    expect(create?.headers["idempotency-key"]).toBe("ord_1:authorize");
    for (const request of seen) {
      expect(request.headers.authorization).toBe(`Bearer ${SECRET}`);
      expect(request.headers["content-type"]).toBe("application/x-www-form-urlencoded");
      expect(request.headers["stripe-version"]).toMatch(/^\d{4}-\d{2}-\d{2}/);
    }
  });

  it("uses a Stripe.js PaymentMethod id as it is", async () => {
    route = () => ok(intent("requires_capture"));
    await expect(processor().authorize({ ...order, token: "pm_card_visa" })).resolves.toMatchObject({
      status: "authorized",
    });
    expect(seen.map((r) => r.path)).toEqual(["/v1/payment_intents"]);
    expect(seen[0]?.form.payment_method).toBe("pm_card_visa");
  });

  it("declines on a card error (402), with the issuer's decline code", async () => {
    route = authorizeRoute(() =>
      stripeError(402, {
        type: "card_error",
        code: "card_declined",
        decline_code: "insufficient_funds",
        payment_intent: intent("requires_payment_method"),
      }),
    );
    await expect(processor().authorize(order)).resolves.toEqual({
      status: "declined",
      code: "insufficient_funds",
    });
  });

  it("answers requires_action with the client secret when the card needs 3-D Secure", async () => {
    route = authorizeRoute(() =>
      ok(
        intent("requires_action", {
          client_secret: "pi_3Std_secret_abc",
          next_action: { type: "use_stripe_sdk" },
        }),
      ),
    );
    await expect(processor().authorize({ ...order, token: "tok_threeDSecure2Required" })).resolves.toEqual({
      status: "requires_action",
      ref: "pi_3Std",
      clientSecret: "pi_3Std_secret_abc",
    });
    // Its outcome, looked up later: authorized, or declined with the reason Stripe gives.
    route = () =>
      ok(
        intent("requires_payment_method", {
          last_payment_error: { type: "card_error", code: "payment_intent_authentication_failure" },
        }),
      );
    await expect(processor().lookup({ orderId: "ord_1", ref: "pi_3Std" })).resolves.toEqual({
      state: "declined",
      ref: "pi_3Std",
      code: "payment_intent_authentication_failure",
    });
  });

  it("declines a payment method Stripe does not know (400 resource_missing on payment_method)", async () => {
    route = () =>
      stripeError(400, { type: "invalid_request_error", code: "resource_missing", param: "payment_method" });
    await expect(processor().authorize({ ...order, token: "pm_forged" })).resolves.toEqual({
      status: "declined",
      code: "resource_missing",
    });
  });

  it("asks again about a PaymentIntent still processing, and answers what it became", async () => {
    route = authorizeRoute((request) =>
      request.method === "GET" ? ok(intent("requires_capture")) : ok(intent("processing")),
    );
    await expect(processor().authorize(order)).resolves.toEqual({ status: "authorized", ref: "pi_3Std" });
    expect(seen.at(-1)).toMatchObject({ method: "GET", path: "/v1/payment_intents/pi_3Std" });
  });

  it("is transient on 429, 5xx, 409 conflicts, a refused key and no answer; the SDK retries with the same key", async () => {
    const transient = [
      stripeError(429, { type: "invalid_request_error", code: "rate_limit" }),
      stripeError(500, { type: "api_error" }),
      stripeError(409, { type: "idempotency_error", code: "idempotency_key_in_use" }),
      stripeError(401, { type: "invalid_request_error" }),
    ];
    for (const answer of transient) {
      route = authorizeRoute(() => answer);
      await expect(processor().authorize(order)).rejects.toBeInstanceOf(PaymentProcessorUnavailableError);
    }
    route = authorizeRoute(() => "hang");
    await expect(processor({ timeoutMs: 200 }).authorize(order)).rejects.toBeInstanceOf(
      PaymentProcessorUnavailableError,
    );

    seen.length = 0;
    let calls = 0;
    route = authorizeRoute(() =>
      ++calls === 1
        ? stripeError(500, { type: "api_error" }, { "stripe-should-retry": "true" })
        : ok(intent("requires_capture")),
    );
    await expect(processor({ maxNetworkRetries: 1 }).authorize(order)).resolves.toMatchObject({
      status: "authorized",
    });
    const creates = seen.filter((r) => r.path === "/v1/payment_intents");
    expect(creates.map((r) => r.headers["idempotency-key"])).toEqual(["ord_1:authorize", "ord_1:authorize"]);
  });

  it("refuses for good what Stripe refuses as a request (400: a key reused with other parameters)", async () => {
    route = authorizeRoute(() =>
      stripeError(400, {
        type: "idempotency_error",
        message: "Keys for idempotent requests can only be used with the same parameters",
      }),
    );
    await expect(processor().authorize(order)).rejects.toBeInstanceOf(PaymentProcessorRequestError);
  });

  it("captures, voids and refunds the order's PaymentIntent, each under its own key", async () => {
    route = (request) =>
      request.path === "/v1/refunds"
        ? ok({ id: "re_1", object: "refund", payment_intent: "pi_3Std", status: "succeeded" })
        : ok(intent(request.path.endsWith("/capture") ? "succeeded" : "canceled"));
    const payment = { orderId: "ord_1", ref: "pi_3Std" };
    await processor().capture(payment);
    await processor().void(payment);
    await processor().refund(payment);
    expect(seen.map((r) => [r.method, r.path, r.headers["idempotency-key"], r.form])).toEqual([
      ["POST", "/v1/payment_intents/pi_3Std/capture", "ord_1:capture", {}],
      ["POST", "/v1/payment_intents/pi_3Std/cancel", "ord_1:void", { cancellation_reason: "abandoned" }],
      ["POST", "/v1/refunds", "ord_1:refund", { payment_intent: "pi_3Std" }],
    ]);
  });

  it("takes a step already done (captured, cancelled, refunded) as done, and any other state as a refusal", async () => {
    const payment = { orderId: "ord_1", ref: "pi_3Std" };
    const unexpected = (status: string) =>
      stripeError(400, {
        type: "invalid_request_error",
        code: "payment_intent_unexpected_state",
        payment_intent: intent(status),
      });
    route = () => unexpected("succeeded");
    await expect(processor().capture(payment)).resolves.toBeUndefined();
    route = () => unexpected("canceled");
    await expect(processor().void(payment)).resolves.toBeUndefined();
    route = () => stripeError(400, { type: "invalid_request_error", code: "charge_already_refunded" });
    await expect(processor().refund(payment)).resolves.toBeUndefined();

    route = () => unexpected("canceled");
    await expect(processor().capture(payment)).rejects.toBeInstanceOf(PaymentProcessorRequestError);
    route = () => unexpected("succeeded");
    await expect(processor().void(payment)).rejects.toBeInstanceOf(PaymentProcessorRequestError);
  });

  it("voids nothing without a PaymentIntent (the authorization's retry learns whether one exists)", async () => {
    await processor().void({ orderId: "ord_1", ref: null });
    expect(seen).toEqual([]);
    await expect(processor().capture({ orderId: "ord_1", ref: null })).rejects.toBeInstanceOf(
      PaymentProcessorRequestError,
    );
  });

  it("looks a payment up by its PaymentIntent, or else by the order id Stripe was given (search)", async () => {
    route = (request) =>
      request.path === "/v1/payment_intents/search"
        ? ok({
            object: "search_result",
            data: [intent("canceled"), intent("requires_capture", { id: "pi_2" })],
          })
        : ok(intent("succeeded"));
    await expect(processor().lookup({ orderId: "ord_1", ref: "pi_3Std" })).resolves.toEqual({
      state: "captured",
      ref: "pi_3Std",
    });
    await expect(processor().lookup({ orderId: "ord_1", ref: null })).resolves.toEqual({
      state: "authorized",
      ref: "pi_2",
    });
    expect(seen.map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /v1/payment_intents/pi_3Std",
      "GET /v1/payment_intents/search",
    ]);
    expect(seen[1]?.query).toEqual({ query: "metadata['order_id']:'ord_1'" });
    route = () => ok({ object: "search_result", data: [] });
    await expect(processor().lookup({ orderId: "ord_1", ref: null })).resolves.toEqual({ state: "none" });
  });
});
