import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { customerSecurity, requireCustomer } from "../../../edge/customer-auth/index.ts";
import { errorResponses, jsonContent } from "../../../platform/openapi.ts";
import { rateLimit } from "../../../platform/rate-limit.ts";
import { CartSchema } from "../cart/index.ts";
import type { StorefrontEnv } from "../env.ts";
import { OrdersPageSchema, OrdersQuerySchema } from "../orders/index.ts";
import { customersDeps } from "./deps.ts";
import { CustomerSchema, SessionSchema, SignedUpSchema, SignInSchema, SignUpSchema } from "./schemas.ts";
import { getMe, getMyCart, getMyOrders, signIn, signOut, signUp } from "./service.ts";

const json = <T>(schema: T) => ({ required: true, content: { "application/json": { schema } } });
const authed = errorResponses("unauthorized", "dependency_unavailable");

/** Sign-ups per client IP: SIGNUP_RATE_LIMIT per SIGNUP_RATE_WINDOW_SECONDS. */
const signUpRateLimit = rateLimit<StorefrontEnv>((c) => ({
  name: "signup",
  what: "sign-ups",
  limit: c.var.settings.SIGNUP_RATE_LIMIT,
  windowSeconds: c.var.settings.SIGNUP_RATE_WINDOW_SECONDS,
}));

const signUpRoute = createRoute({
  method: "post",
  path: "/v1/customers",
  tags: ["customers"],
  summary: "Create a customer account (and sign it in)",
  description:
    "The email is compared trimmed and case-insensitively. The password is 8..128 characters and " +
    "may not be one of the most common passwords (400 `invalid_request`). Sign-ups are limited per " +
    "client IP (`SIGNUP_RATE_LIMIT` per `SIGNUP_RATE_WINDOW_SECONDS`; 429 `rate_limited`).",
  middleware: [signUpRateLimit],
  request: { body: json(SignUpSchema) },
  responses: {
    201: jsonContent(SignedUpSchema, "the new account and its bearer token"),
    ...errorResponses(
      "invalid_request",
      "email_taken",
      "payload_too_large",
      "rate_limited",
      "dependency_unavailable",
    ),
  },
});

const signInRoute = createRoute({
  method: "post",
  path: "/v1/sessions",
  tags: ["customers"],
  summary: "Sign in; a guest cart is merged into the customer's cart",
  description:
    "An unknown email and a wrong password get the same 401 `invalid_credentials`. Failed sign-ins " +
    "are limited per account and per client IP (429 `rate_limited` with Retry-After). With `cartId`, " +
    "that guest cart is merged into the customer's cart in one atomic step (quantities summed, at most " +
    "99 a line and 100 lines; what did not fit is listed in `notMerged`) and deleted; a guest cart " +
    "that no longer exists merges nothing. A cart being checked out (either one) is 409 " +
    "`checkout_in_progress`.",
  request: { body: json(SignInSchema) },
  responses: {
    200: jsonContent(SessionSchema, "the customer, a bearer token and the customer's cart"),
    ...errorResponses(
      "invalid_request",
      "invalid_credentials",
      "checkout_in_progress",
      "payload_too_large",
      "rate_limited",
      "dependency_unavailable",
    ),
  },
});

const signOutRoute = createRoute({
  method: "delete",
  path: "/v1/sessions/current",
  tags: ["customers"],
  summary: "Sign out: this token is refused from now on",
  security: customerSecurity,
  responses: { 204: { description: "signed out" }, ...authed },
});

const meRoute = createRoute({
  method: "get",
  path: "/v1/customers/me",
  tags: ["customers"],
  summary: "The signed-in customer",
  security: customerSecurity,
  responses: { 200: jsonContent(CustomerSchema, "the customer"), ...authed },
});

const myCartRoute = createRoute({
  method: "get",
  path: "/v1/customers/me/cart",
  tags: ["customers"],
  summary: "The customer's one cart, the same on every device (usable with every cart route)",
  security: customerSecurity,
  responses: { 200: jsonContent(CartSchema, "the customer's cart"), ...authed },
});

const myOrdersRoute = createRoute({
  method: "get",
  path: "/v1/customers/me/orders",
  tags: ["customers"],
  summary: "The customer's orders, newest first",
  description: "Orders appear once the order pipeline has recorded them (usually within a second).",
  security: customerSecurity,
  request: { query: OrdersQuerySchema },
  responses: {
    200: jsonContent(OrdersPageSchema, "a page of orders"),
    ...errorResponses("invalid_request", "unauthorized", "dependency_unavailable"),
  },
});

export const customerRoutes = new OpenAPIHono<StorefrontEnv>()
  .openapi(signUpRoute, async (c) => c.json(await signUp(customersDeps(c), c.req.valid("json")), 201))
  .openapi(signInRoute, async (c) => {
    const client = c.req.header("CF-Connecting-IP") ?? "unknown";
    return c.json(await signIn(customersDeps(c), c.req.valid("json"), client), 200);
  })
  .openapi(signOutRoute, async (c) => {
    const session = await requireCustomer(c.env, c.req.header("Authorization"));
    await signOut(customersDeps(c), session);
    return c.body(null, 204);
  })
  .openapi(meRoute, async (c) => {
    const session = await requireCustomer(c.env, c.req.header("Authorization"));
    c.header("Cache-Control", "private, no-store");
    return c.json(await getMe(customersDeps(c), session), 200);
  })
  .openapi(myCartRoute, async (c) => {
    const session = await requireCustomer(c.env, c.req.header("Authorization"));
    c.header("Cache-Control", "private, no-store");
    return c.json(await getMyCart(customersDeps(c), session), 200);
  })
  .openapi(myOrdersRoute, async (c) => {
    const session = await requireCustomer(c.env, c.req.header("Authorization"));
    c.header("Cache-Control", "private, no-store");
    return c.json(await getMyOrders(customersDeps(c), session, c.req.valid("query")), 200);
  });
