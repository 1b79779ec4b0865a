import { describe, expect, it } from "vitest";
import { errorResponse, StartupPasswordFilter } from "./pg-wire.ts";

const message = (type: string, payload: Buffer): Buffer => {
  const header = Buffer.alloc(5);
  header.write(type, 0);
  header.writeInt32BE(payload.length + 4, 1);
  return Buffer.concat([header, payload]);
};

const startup = (): Buffer => {
  const params = Buffer.from("user\0postgres\0database\0test\0\0");
  const head = Buffer.alloc(8);
  head.writeInt32BE(params.length + 8, 0);
  head.writeInt32BE(196_608, 4);
  return Buffer.concat([head, params]);
};

const int32 = (value: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value, 0);
  return b;
};

const password = message("p", Buffer.from("secret\0"));
const query = message("Q", Buffer.from("select 1\0"));
const authOk = message("R", int32(0));
const authCleartext = message("R", int32(3));

/** Feeds `bytes` one byte at a time, the worst framing a WebSocket can deliver. */
const feedBytewise = (filter: StartupPasswordFilter, bytes: Buffer): Buffer =>
  Buffer.concat([...bytes].map((byte) => filter.fromClient(Buffer.from([byte]))));

describe("StartupPasswordFilter", () => {
  it("drops a pipelined password when the server trusts the client", () => {
    const filter = new StartupPasswordFilter();
    expect(filter.fromClient(Buffer.concat([startup(), password, query]))).toEqual(startup());
    expect(filter.fromServer(authOk)).toEqual(query);
    expect(filter.fromClient(query)).toEqual(query);
  });

  it("forwards a pipelined password when the server asks for one", () => {
    const filter = new StartupPasswordFilter();
    expect(filter.fromClient(Buffer.concat([startup(), password, query]))).toEqual(startup());
    expect(filter.fromServer(authCleartext)).toEqual(Buffer.concat([password, query]));
  });

  it("copes with any framing, and with the password arriving after AuthenticationOk", () => {
    const filter = new StartupPasswordFilter();
    expect(feedBytewise(filter, startup())).toEqual(startup());
    expect(filter.fromServer(authOk.subarray(0, 3))).toEqual(Buffer.alloc(0));
    expect(filter.fromServer(authOk.subarray(3))).toEqual(Buffer.alloc(0));
    expect(feedBytewise(filter, Buffer.concat([password, query]))).toEqual(query);
  });

  it("leaves a non-pipelining client untouched", () => {
    const filter = new StartupPasswordFilter();
    expect(filter.fromClient(startup())).toEqual(startup());
    expect(filter.fromServer(authOk)).toEqual(Buffer.alloc(0));
    expect(filter.fromClient(query)).toEqual(query);
    // A later 'p' is not the pipelined one and must not be touched.
    expect(filter.fromClient(password)).toEqual(password);
  });

  it("steps aside for SSL requests", () => {
    const filter = new StartupPasswordFilter();
    const sslRequest = Buffer.concat([int32(8), int32(80_877_103)]);
    expect(filter.fromClient(sslRequest)).toEqual(sslRequest);
    expect(filter.fromClient(password)).toEqual(password);
  });
});

describe("errorResponse", () => {
  it("encodes an ErrorResponse that node-postgres can parse", () => {
    const bytes = errorResponse({ severity: "FATAL", code: "08001", message: "down" });
    expect(bytes.subarray(0, 1).toString()).toBe("E");
    expect(bytes.readInt32BE(1)).toBe(bytes.length - 1);
    expect(bytes.subarray(5).toString()).toBe("SFATAL\0VFATAL\0C08001\0Mdown\0\0");
  });
});
