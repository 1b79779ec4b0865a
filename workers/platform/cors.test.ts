import { describe, expect, it } from "vitest";
import { originMatcher } from "./cors.ts";

describe("originMatcher", () => {
  it("matches exact origins and * within one host part or port", () => {
    const allowed = originMatcher("https://shop.example.com, http://localhost:*, https://*.example.org");
    expect(allowed("https://shop.example.com")).toBe(true);
    expect(allowed("http://localhost:5173")).toBe(true);
    expect(allowed("https://a.example.org")).toBe(true);
    expect(allowed("https://shop.example.com.evil.test")).toBe(false);
    expect(allowed("http://localhost:5173/path")).toBe(false);
    expect(allowed("http://localhost.evil.test:5173")).toBe(false);
    expect(allowed("https://example.org")).toBe(false);
    expect(originMatcher("")("http://localhost:5173")).toBe(false);
  });
});
