import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { stripUpstashScriptFlags } from "./lua-shebang.ts";
import { createScriptFlagRewriter, createScriptShaMap } from "./script-flags.ts";

const strip = (script: string): string | undefined => stripUpstashScriptFlags(script)?.toString("utf8");
const sha1 = (script: string | Buffer): string => createHash("sha1").update(script).digest("hex");
const BODY = "\n  local key = KEYS[1] -- é 🚀\n  return redis.call('GET', key)\n";

describe("stripUpstashScriptFlags", () => {
  it("removes allow-key-locking, keeping `#!lua` and every line after it", () => {
    const rewritten = strip(`#!lua flags=allow-key-locking${BODY}`);
    expect(rewritten).toBe(`#!lua${BODY}`);
    expect(rewritten?.split("\n")).toHaveLength(`#!lua${BODY}`.split("\n").length);
  });

  it("keeps the other flags and options, and a CR before the first LF", () => {
    expect(strip(`#!lua flags=no-writes,allow-key-locking${BODY}`)).toBe(`#!lua flags=no-writes${BODY}`);
    expect(strip(`#!lua flags=allow-key-locking,allow-oom,no-writes${BODY}`)).toBe(
      `#!lua flags=allow-oom,no-writes${BODY}`,
    );
    expect(strip("#!lua  flags=allow-key-locking,allow-key-locking \r\nreturn 1")).toBe("#!lua \r\nreturn 1");
    expect(strip(`#!lua flags=allow-key-locking other=1${BODY}`)).toBe(`#!lua other=1${BODY}`);
    expect(strip("#!lua flags=allow-key-locking")).toBe("#!lua");
  });

  it("leaves every other script alone", () => {
    for (const script of [
      "return 1",
      `#!lua${BODY}`,
      `#!lua flags=no-writes${BODY}`,
      `#!lua flags=no-writes,allow-stale${BODY}`,
      `-- #!lua flags=allow-key-locking${BODY}`,
      ` #!lua flags=allow-key-locking${BODY}`,
      `#!python flags=allow-key-locking${BODY}`,
      `#!lua flags="allow-key-locking"${BODY}`,
      `#!lua${BODY}-- flags=allow-key-locking\n`,
      "",
    ]) {
      expect(stripUpstashScriptFlags(script), script).toBeUndefined();
      expect(stripUpstashScriptFlags(Buffer.from(script)), script).toBeUndefined();
    }
  });

  it("keeps the bytes after the first line exactly, even when they are not UTF-8", () => {
    const body = Buffer.from([0x0a, 0x2d, 0x2d, 0x20, 0xff, 0xfe, 0x00, 0xc3, 0x0a, 0x72, 0x65, 0x74]);
    const script = Buffer.concat([Buffer.from("#!lua flags=allow-key-locking"), body]);
    expect(stripUpstashScriptFlags(script)).toEqual(Buffer.concat([Buffer.from("#!lua"), body]));
  });
});

describe("createScriptShaMap", () => {
  it("evicts the least recently used entry and looks SHA1s up case-insensitively", () => {
    const map = createScriptShaMap(2);
    map.set("aa", "1");
    map.set("BB", "2");
    expect(map.get("AA")).toBe("1"); // now bb is the least recently used
    map.set("cc", "3");
    expect(map.size).toBe(2);
    expect(map.get("bb")).toBeUndefined();
    expect([map.get("aa"), map.get("cc")]).toEqual(["1", "3"]);
    expect(() => createScriptShaMap(0)).toThrow(RangeError);
  });
});

describe("createScriptFlagRewriter", () => {
  const flagged = `#!lua flags=allow-key-locking${BODY}`;
  const rewrittenSha = sha1(`#!lua${BODY}`);

  it("sends EVAL without the flag and maps the original SHA1 for EVALSHA and SCRIPT EXISTS", () => {
    const prepare = createScriptFlagRewriter(createScriptShaMap());
    const unknown = prepare({ name: "EVALSHA", args: [sha1(flagged), "0"] });
    expect(unknown.command.args).toEqual([sha1(flagged), "0"]); // Redis will answer NOSCRIPT

    const evaluated = prepare({ name: "EVAL", args: [flagged, "1", "k", "a"] });
    expect(evaluated.command).toEqual({ name: "EVAL", args: [Buffer.from(`#!lua${BODY}`), "1", "k", "a"] });
    for (const name of ["EVALSHA", "EVALSHA_RO"]) {
      expect(prepare({ name, args: [sha1(flagged).toUpperCase(), "0"] }).command.args).toEqual([
        rewrittenSha,
        "0",
      ]);
    }
    expect(prepare({ name: "SCRIPT", args: ["exists", sha1(flagged), "f00"] }).command.args).toEqual([
      "exists",
      rewrittenSha,
      "f00",
    ]);
  });

  it("answers SCRIPT LOAD with the SHA1 of the script as sent", () => {
    const map = createScriptShaMap();
    const prepare = createScriptFlagRewriter(map);
    const loaded = prepare({ name: "SCRIPT", args: ["LOAD", Buffer.from(flagged)] });
    expect(loaded.command.args).toEqual(["LOAD", Buffer.from(`#!lua${BODY}`)]);
    expect(loaded.restore?.(Buffer.from(rewrittenSha))).toEqual(Buffer.from(sha1(flagged)));
    const error = new Error("ERR Error compiling script");
    expect(loaded.restore?.(error)).toBe(error);
    expect(map.get(sha1(flagged))).toBe(rewrittenSha);
  });

  it("passes other commands and scripts without the flag through as the same objects", () => {
    const map = createScriptShaMap();
    const prepare = createScriptFlagRewriter(map);
    for (const command of [
      { name: "EVAL", args: [`#!lua flags=no-writes${BODY}`, "0"] },
      { name: "EVAL_RO", args: [Buffer.from("return 1"), "0"] },
      { name: "SCRIPT", args: ["LOAD", "return 1"] },
      { name: "SCRIPT", args: ["FLUSH"] },
      { name: "GET", args: [flagged] },
    ]) {
      const prepared = prepare(command);
      expect(prepared.command).toBe(command);
      expect(prepared.restore).toBeUndefined();
    }
    expect(map.size).toBe(0);
  });
});
