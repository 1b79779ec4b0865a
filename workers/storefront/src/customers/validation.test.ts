import { describe, expect, it } from "vitest";
import { call, expectError, jsonInit, TEST_PASSWORD, uniqueEmail } from "../test-support.ts";

const signUpBody = () => ({ email: uniqueEmail(), password: TEST_PASSWORD, name: "Ada" });
const signInBody = () => ({ email: uniqueEmail(), password: TEST_PASSWORD, cartId: "c".repeat(22) });

const cases: Array<[string, (base: Record<string, unknown>) => unknown]> = [
  ["email as a number", (b) => ({ ...b, email: 42 })],
  ["email not an email", (b) => ({ ...b, email: "not-an-email" })],
  ["email too long", (b) => ({ ...b, email: `${"a".repeat(250)}@example.com` })],
  ["password as a number", (b) => ({ ...b, password: 12345678 })],
  ["password null", (b) => ({ ...b, password: null })],
  ["password too long", (b) => ({ ...b, password: "p".repeat(129) })],
  ["missing email", ({ email: _e, ...b }) => b],
  ["missing password", ({ password: _p, ...b }) => b],
  ["an unknown field", (b) => ({ ...b, role: "admin" })],
  ["an empty object", () => ({})],
  ["null", () => null],
  ["an array", () => []],
  ["a string", () => "email"],
];

describe.each([
  ["POST /v1/customers", "/v1/customers", signUpBody],
  ["POST /v1/sessions", "/v1/sessions", signInBody],
])("%s bad input", (_route, path, base) => {
  it.each(cases)("answers 400 invalid_request to %s", async (_name, make) => {
    const input = make(base());
    // A bare JSON string is sent as raw text by jsonInit (not JSON-encoded), so it is malformed JSON.
    const res = await call(path, jsonInit("POST", typeof input === "string" ? JSON.stringify(input) : input));
    const body = await expectError(res, 400, "invalid_request");
    expect(body.error.details).toBeDefined();
  });

  it("answers 400 to malformed JSON and to a body that is not JSON", async () => {
    await expectError(await call(path, jsonInit("POST", "{not json")), 400, "invalid_request");
    await expectError(
      await call(path, { method: "POST", headers: { "content-type": "text/plain" }, body: "email=a" }),
      400,
      "invalid_request",
    );
  });

  it("answers 413 payload_too_large to a body over 64 KiB", async () => {
    const huge = JSON.stringify({ ...base(), pad: "x".repeat(70_000) });
    await expectError(await call(path, jsonInit("POST", huge)), 413, "payload_too_large");
  });
});

describe("route-specific bad input", () => {
  it.each([
    ["an empty name", { name: "" }],
    ["a name as a number", { name: 7 }],
    ["a name over 200 characters", { name: "n".repeat(201) }],
  ])("POST /v1/customers answers 400 to %s", async (_name, patch) => {
    await expectError(
      await call("/v1/customers", jsonInit("POST", { ...signUpBody(), ...patch })),
      400,
      "invalid_request",
    );
  });

  it.each([
    ["a malformed cartId", { cartId: "../etc" }],
    ["a cartId as a number", { cartId: 12 }],
    ["an empty password", { password: "" }],
  ])("POST /v1/sessions answers 400 to %s", async (_name, patch) => {
    await expectError(
      await call("/v1/sessions", jsonInit("POST", { ...signInBody(), ...patch })),
      400,
      "invalid_request",
    );
  });

  it.each([
    ["GET", "/v1/customers/me"],
    ["GET", "/v1/customers/me/cart"],
    ["GET", "/v1/customers/me/orders"],
    ["DELETE", "/v1/sessions/current"],
  ])("%s %s answers 401 to missing or malformed bearer tokens", async (method, path) => {
    for (const authorization of [
      undefined,
      "",
      "Bearer",
      "Bearer ",
      "Basic abc",
      "Bearer a b",
      "Bearer x.y.z",
    ]) {
      const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
      await expectError(await call(path, { method, headers }), 401, "unauthorized");
    }
  });
});
