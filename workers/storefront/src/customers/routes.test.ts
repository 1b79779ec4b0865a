import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { customers } from "../../../../db/schema/index.ts";
import { issueToken } from "../../../edge/customer-auth/index.ts";
import { dbClient } from "../../../platform/clients.ts";
import {
  bearer,
  call,
  expectError,
  json,
  jsonInit,
  type SignedUp,
  signIn,
  signUpCustomer,
  TEST_PASSWORD,
  uniqueEmail,
} from "../test-support.ts";
import { hashPassword } from "./password.ts";

interface Me {
  customerId: string;
  email: string;
  name: string | null;
  createdAt: string;
}

const me = (token: string) => call("/v1/customers/me", { headers: bearer(token) });

describe("sign-up", () => {
  it("creates an account with a normalised email and answers 201 with a token that works", async () => {
    const email = `  ${uniqueEmail("Ada")}  `;
    const res = await call(
      "/v1/customers",
      jsonInit("POST", { email, password: TEST_PASSWORD, name: "Ada" }),
    );
    expect(res.status).toBe(201);
    const body = await json<SignedUp>(res);
    expect(body.customer).toEqual({
      customerId: expect.stringMatching(/^cus_[A-Za-z0-9_-]{22}$/),
      email: email.trim().toLowerCase(),
      name: "Ada",
      createdAt: expect.any(String),
    });
    expect(body.token.split(".")).toHaveLength(3);
    const [row] = await dbClient(env)
      .select()
      .from(customers)
      .where(eq(customers.customerId, body.customer.customerId));
    expect(row?.passwordHash).toMatch(/^pbkdf2-sha256\$100000\$/);
    expect(row?.passwordHash).not.toContain(TEST_PASSWORD);

    const read = await me(body.token);
    expect(read.status).toBe(200);
    expect(await json<Me>(read)).toEqual(body.customer);
  });

  it("answers 409 email_taken for the same email in any case or spacing", async () => {
    const { email } = await signUpCustomer();
    const again = await call(
      "/v1/customers",
      jsonInit("POST", { email: ` ${email.toUpperCase()} `, password: "another fine password" }),
    );
    await expectError(again, 409, "email_taken");
  });

  it("creates exactly one account when two sign-ups with one email race", async () => {
    const email = uniqueEmail("race");
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        call(
          "/v1/customers",
          jsonInit("POST", { email: i % 2 ? email : email.toLowerCase(), password: TEST_PASSWORD }),
        ),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    const rows = await dbClient(env).select().from(customers).where(eq(customers.email, email.toLowerCase()));
    expect(rows).toHaveLength(1);
  });

  it.each([
    ["a common password", "password123"],
    ["a common password in another case", "Password123"],
    ["too short", "short7!"],
    ["too long", "x".repeat(129)],
  ])("refuses %s with 400 invalid_request", async (_name, password) => {
    await expectError(
      await call("/v1/customers", jsonInit("POST", { email: uniqueEmail(), password })),
      400,
      "invalid_request",
    );
  });

  it("refuses the email address as the password", async () => {
    const email = uniqueEmail();
    await expectError(
      await call("/v1/customers", jsonInit("POST", { email, password: email })),
      400,
      "invalid_request",
    );
  });

  it("accepts 8 and 128 characters", async () => {
    for (const password of ["Xq7#vLp2", `${"y".repeat(127)}Z`]) {
      const res = await call("/v1/customers", jsonInit("POST", { email: uniqueEmail(), password }));
      expect(res.status).toBe(201);
    }
  });
});

describe("sign-in and sign-out", () => {
  it("signs in with the email in any case and answers the customer, a token and the customer's cart", async () => {
    const { customer, email, password } = await signUpCustomer({ name: "Grace" });
    const res = await signIn({ email: email.toUpperCase(), password });
    expect(res.status).toBe(200);
    const body = await json<{ customer: Me; token: string; cart: { cartId: string; items: unknown[] } }>(res);
    expect(body.customer).toEqual(customer);
    expect(body.cart).toMatchObject({ items: [], itemCount: 0, currency: "USD" });
    expect(body).not.toHaveProperty("notMerged");
    expect((await me(body.token)).status).toBe(200);
  });

  it("answers 401 invalid_credentials alike for a wrong password and an unknown email", async () => {
    const { email } = await signUpCustomer();
    const wrong = await expectError(
      await signIn({ email, password: "not the password" }),
      401,
      "invalid_credentials",
    );
    const unknown = await expectError(
      await signIn({ email: uniqueEmail("nobody"), password: "not the password" }),
      401,
      "invalid_credentials",
    );
    expect(unknown.error.message).toBe(wrong.error.message);
  });

  it("takes similar time for an unknown email and a wrong password (both derive a key)", async () => {
    const { email } = await signUpCustomer();
    const time = async (body: { email: string; password: string }) => {
      const started = performance.now();
      expect((await signIn(body)).status).toBe(401);
      return performance.now() - started;
    };
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const wrong: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      wrong.push(await time({ email, password: "wrong password" }));
      unknown.push(await time({ email: uniqueEmail("ghost"), password: "wrong password" }));
    }
    // Without the dummy hash an unknown email would skip 100,000 PBKDF2 rounds and answer far sooner.
    expect(median(unknown)).toBeGreaterThan(median(wrong) * 0.5);
  });

  it("signs out: 204, and that token is refused from then on; other sessions keep working", async () => {
    const { email, password, token: first } = await signUpCustomer();
    const second = (await json<{ token: string }>(await signIn({ email, password }))).token;
    const out = await call("/v1/sessions/current", { method: "DELETE", headers: bearer(second) });
    expect(out.status).toBe(204);
    await expectError(await me(second), 401, "unauthorized");
    await expectError(
      await call("/v1/sessions/current", { method: "DELETE", headers: bearer(second) }),
      401,
      "unauthorized",
    );
    expect((await me(first)).status).toBe(200);
  });

  it("refuses tampered and expired tokens, and requests without one", async () => {
    const { token, customer } = await signUpCustomer();
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const flipped = `${header}.${payload}.${signature.startsWith("A") ? "B" : "A"}${signature.slice(1)}`;
    const res = await expectError(await me(flipped), 401, "unauthorized");
    expect(res.error.message).toMatch(/invalid|expired/);
    const expired = await issueToken(
      env.CUSTOMER_TOKEN_SECRET,
      customer.customerId,
      60,
      Date.now() - 120_000,
    );
    await expectError(await me(expired.token), 401, "unauthorized");
    const short = await call(
      "/v1/customers/me",
      { headers: bearer(token) },
      { CUSTOMER_TOKEN_TTL_SECONDS: "1" },
    );
    expect(short.status).toBe(200);
    const unsigned = await call("/v1/customers/me");
    await expectError(unsigned, 401, "unauthorized");
    expect(unsigned.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
    for (const path of ["/v1/customers/me/cart", "/v1/customers/me/orders"])
      await expectError(await call(path), 401, "unauthorized");
    await expectError(await call("/v1/sessions/current", { method: "DELETE" }), 401, "unauthorized");
  });

  it("issues tokens that expire after CUSTOMER_TOKEN_TTL_SECONDS", async () => {
    const { email, password } = await signUpCustomer();
    const res = await signIn({ email, password }, { CUSTOMER_TOKEN_TTL_SECONDS: "1" });
    const { token } = await json<{ token: string }>(res);
    const claims = JSON.parse(atob((token.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/")));
    expect(claims.exp - claims.iat).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await expectError(await me(token), 401, "unauthorized");
  });
});

describe("password hash upgrades", () => {
  it("replaces a hash made with fewer iterations at the next sign-in", async () => {
    const { customer, email, password } = await signUpCustomer();
    const db = dbClient(env);
    const older = await hashPassword(password, 1000);
    await db
      .update(customers)
      .set({ passwordHash: older })
      .where(eq(customers.customerId, customer.customerId));
    expect((await signIn({ email, password })).status).toBe(200);
    const [row] = await db.select().from(customers).where(eq(customers.customerId, customer.customerId));
    expect(row?.passwordHash).toMatch(/^pbkdf2-sha256\$100000\$/);
    expect((await signIn({ email, password })).status).toBe(200);
  });
});

describe("the OpenAPI document", () => {
  it("documents every customer route with the bearer scheme", async () => {
    const doc = await json<{
      paths: Record<string, Record<string, { security?: unknown }>>;
      components: { securitySchemes: Record<string, unknown> };
    }>(await call("/openapi.json"));
    expect(doc.paths["/v1/customers"]?.post).toBeDefined();
    expect(doc.paths["/v1/sessions"]?.post).toBeDefined();
    expect(doc.paths["/v1/sessions/current"]?.delete?.security).toEqual([{ customerToken: [] }]);
    expect(doc.paths["/v1/customers/me"]?.get?.security).toEqual([{ customerToken: [] }]);
    expect(doc.paths["/v1/customers/me/cart"]?.get).toBeDefined();
    expect(doc.paths["/v1/customers/me/orders"]?.get).toBeDefined();
    expect(doc.components.securitySchemes.customerToken).toMatchObject({ type: "http", scheme: "bearer" });
  });
});
