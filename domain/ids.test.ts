import { describe, expect, it } from "vitest";
import { randomToken } from "./ids.ts";

describe("randomToken", () => {
  it("is 22 URL-safe characters and does not repeat", () => {
    const tokens = Array.from({ length: 1000 }, randomToken);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(new Set(tokens).size).toBe(tokens.length);
  });
});
