import { describe, expect, it } from "vitest";
import { isCommonPassword } from "./common-passwords.ts";
import {
  DUMMY_PASSWORD_HASH,
  hashPassword,
  needsRehash,
  PBKDF2_ITERATIONS,
  verifyPassword,
} from "./password.ts";

describe("password hashes", () => {
  it("store PBKDF2-SHA-256 with its iterations and a random salt, and verify", async () => {
    const a = await hashPassword("correct horse battery staple");
    const b = await hashPassword("correct horse battery staple");
    expect(a).toMatch(/^pbkdf2-sha256\$100000\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(PBKDF2_ITERATIONS).toBe(100_000);
    expect(a).not.toBe(b);
    expect(await verifyPassword("correct horse battery staple", a)).toBe(true);
    expect(await verifyPassword("correct horse battery stapl", a)).toBe(false);
    expect(await verifyPassword("Correct horse battery staple", a)).toBe(false);
  });

  it("verify with the parameters stored in the hash, so they can be raised later", async () => {
    const older = await hashPassword("an older account", 1000);
    expect(older.split("$")[1]).toBe("1000");
    expect(await verifyPassword("an older account", older)).toBe(true);
    expect(needsRehash(older)).toBe(true);
    expect(needsRehash(await hashPassword("a current account"))).toBe(false);
  });

  it("compare passwords as Unicode NFKC", async () => {
    const hash = await hashPassword("ﬁve ﬁsh swim");
    expect(await verifyPassword("five fish swim", hash)).toBe(true);
  });

  it("never match an unknown format or the dummy hash", async () => {
    expect(await verifyPassword("anything", "md5$abc")).toBe(false);
    expect(await verifyPassword("anything", "pbkdf2-sha256$0$AAAA$AAAA")).toBe(false);
    expect(await verifyPassword("", DUMMY_PASSWORD_HASH)).toBe(false);
    expect(await verifyPassword("password", DUMMY_PASSWORD_HASH)).toBe(false);
  });
});

describe("common passwords", () => {
  it("are recognised in any case; uncommon ones are not", () => {
    expect(isCommonPassword("password1")).toBe(true);
    expect(isCommonPassword("PassWord1")).toBe(true);
    expect(isCommonPassword("12345678")).toBe(true);
    expect(isCommonPassword("correct horse battery staple")).toBe(false);
  });
});
