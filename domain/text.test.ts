import { describe, expect, it } from "vitest";
import { cleanText, EmailAddressSchema, isCleanText } from "./text.ts";

describe("clean text", () => {
  const name = cleanText(20, { min: 1 });
  it.each([
    ["a NUL", "Ada\u0000Lovelace"],
    ["a line feed in a one-line field", "Ada\nLovelace"],
    ["DEL", "Ada\u007F"],
    ["a C1 control", "Ada\u0085"],
    ["a lone high surrogate", "Ada\uD83D"],
    ["a lone low surrogate", "\uDE00Ada"],
  ])("refuses %s", (_what, value) => {
    expect(name.safeParse(value).success).toBe(false);
    expect(isCleanText(value)).toBe(false);
  });

  it("keeps tabs and line breaks in multi-line text, but not other controls", () => {
    const description = cleanText(100, { multiline: true });
    expect(description.parse("one\r\n\ttwo")).toBe("one\r\n\ttwo");
    expect(description.safeParse("one\u0000two").success).toBe(false);
  });

  it("normalises to NFC and trims, then checks the length", () => {
    const decomposed = "Cafe\u0301 ";
    expect(name.parse(decomposed)).toBe("Café");
    expect(name.parse("😀 emoji")).toBe("😀 emoji");
    expect(name.safeParse("   ").success).toBe(false);
    expect(cleanText(4).safeParse("e\u0301e\u0301e\u0301e\u0301").success).toBe(true);
  });

  it("checks emails the same way", () => {
    expect(EmailAddressSchema.parse(" Ada@Example.com ")).toBe("Ada@Example.com");
    expect(EmailAddressSchema.safeParse("ada\u0000@example.com").success).toBe(false);
  });
});
