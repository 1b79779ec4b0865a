import { describe, expect, it } from "vitest";
import { toOutcome, toRedisReply, wantsBase64 } from "./protocol.ts";

describe("reply encoding", () => {
  const reply = toRedisReply([Buffer.from("OK"), 7, null, [Buffer.from("é")], new Error("ERR nested")]);

  it("encodes every string as base64 except a top-level OK", () => {
    expect(toOutcome(Buffer.from("OK"), true)).toEqual({ result: "OK" });
    expect(toOutcome(Buffer.from([0, 255]), true)).toEqual({ result: "AP8=" });
    expect(toOutcome(reply, true)).toEqual({
      result: [
        "T0s=",
        7,
        null,
        [Buffer.from("é").toString("base64")],
        Buffer.from("ERR nested").toString("base64"),
      ],
    });
  });

  it("answers plain UTF-8 strings without base64, and errors as {error}", () => {
    expect(toOutcome(reply, false)).toEqual({ result: ["OK", 7, null, ["é"], "ERR nested"] });
    expect(toOutcome(new Error("WRONGTYPE x"), true)).toEqual({ error: "WRONGTYPE x" });
    expect(toOutcome(null, true)).toEqual({ result: null });
  });

  it("recognizes the encoding header", () => {
    expect(wantsBase64("base64")).toBe(true);
    expect(wantsBase64(" Base64 ")).toBe(true);
    expect(wantsBase64(undefined)).toBe(false);
  });
});
