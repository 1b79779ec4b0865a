import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "./index.ts";

interface ErrorAnswer {
  error: { code: string; details?: { settings: { setting: string }[] } };
}

describe("checkout worker settings", () => {
  it("answers 500 config_error naming its own malformed settings", async () => {
    const broken = { ...env, MAX_ORDER_CENTS: "-5", MEDIA_BASE_URL: "" };
    const res = await app.request("/v1/orders/ord_x", {}, broken);
    expect(res.status).toBe(500);
    const body = (await res.json()) as ErrorAnswer;
    expect(body.error.code).toBe("config_error");
    expect(body.error.details?.settings.map((s) => s.setting).sort()).toEqual([
      "MAX_ORDER_CENTS",
      "MEDIA_BASE_URL",
    ]);
  });
});
