/**
 * The little of the PostgreSQL wire protocol the WebSocket proxy needs to understand; everything else is piped
 * through as opaque bytes. https://www.postgresql.org/docs/current/protocol-message-formats.html
 */

const PROTOCOL_3_0 = 196_608;
const AUTHENTICATION_OK = 0;

/** A backend ErrorResponse ('E'), so a client fails with a PostgreSQL error instead of a bare socket close. */
export const errorResponse = (fields: {
  severity: "ERROR" | "FATAL";
  code: string;
  message: string;
}): Buffer => {
  const field = (tag: string, value: string): Buffer =>
    Buffer.concat([Buffer.from(tag), Buffer.from(`${value}\0`)]);
  const body = Buffer.concat([
    field("S", fields.severity),
    field("V", fields.severity),
    field("C", fields.code),
    field("M", fields.message),
    Buffer.from([0]),
  ]);
  const header = Buffer.alloc(5);
  header.write("E", 0);
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
};

type Phase =
  | { kind: "startup" }
  | { kind: "awaitAuth" }
  | { kind: "dropPassword"; remaining: number | undefined }
  | { kind: "passthrough" };

/**
 * Makes `neonConfig.pipelineConnect = "password"` (the client's default) work against a server that does not
 * ask for a password.
 *
 * With pipelining, the client sends StartupMessage, PasswordMessage ('p') and its first query in one go,
 * without waiting for the server. Neon's proxy always asks for a cleartext password, so that works there. A
 * server with `trust` auth answers AuthenticationOk instead and then rejects the unsolicited 'p' ("invalid
 * frontend message type 112") and drops the connection. This filter holds what the client sends after its
 * StartupMessage until the server's first authentication message arrives: on AuthenticationOk it drops the
 * first client message if (and only if) it is a 'p' (never valid after AuthenticationOk), otherwise it
 * forwards everything untouched. SSL, GSSAPI and cancel requests switch it off at once.
 */
export class StartupPasswordFilter {
  private phase: Phase = { kind: "startup" };
  private held = Buffer.alloc(0);
  private server = Buffer.alloc(0);

  /** Client bytes in; the bytes to send to the server now out. */
  fromClient(chunk: Buffer): Buffer {
    if (this.phase.kind === "passthrough") return chunk;
    this.held = Buffer.concat([this.held, chunk]);
    return this.advanceClient();
  }

  /** Server bytes are always forwarded untouched; this returns held client bytes that may now go on. */
  fromServer(chunk: Buffer): Buffer {
    if (this.phase.kind !== "awaitAuth") return Buffer.alloc(0);
    this.server = Buffer.concat([this.server, chunk]);
    while (this.server.length >= 5) {
      const type = String.fromCharCode(this.server[0] ?? 0);
      const length = this.server.readInt32BE(1);
      if (type === "R" && this.server.length >= 9) {
        const authOk = this.server.readInt32BE(5) === AUTHENTICATION_OK;
        this.server = Buffer.alloc(0);
        this.phase = authOk ? { kind: "dropPassword", remaining: undefined } : { kind: "passthrough" };
        return this.advanceClient();
      }
      if (type === "R") return Buffer.alloc(0);
      if (type !== "v") {
        // An ErrorResponse (or anything unexpected) before authentication: stop interfering.
        this.server = Buffer.alloc(0);
        this.phase = { kind: "passthrough" };
        return this.advanceClient();
      }
      // NegotiateProtocolVersion: skip it and keep looking for the authentication message.
      if (this.server.length < length + 1) return Buffer.alloc(0);
      this.server = this.server.subarray(length + 1);
    }
    return Buffer.alloc(0);
  }

  private advanceClient(): Buffer {
    const out: Buffer[] = [];
    for (;;) {
      const phase = this.phase;
      if (phase.kind === "startup") {
        if (this.held.length < 8) break;
        const length = this.held.readInt32BE(0);
        const isStartup = this.held.readInt32BE(4) === PROTOCOL_3_0;
        if (!isStartup) {
          this.phase = { kind: "passthrough" };
          continue;
        }
        if (this.held.length < length) break;
        out.push(this.held.subarray(0, length));
        this.held = this.held.subarray(length);
        this.phase = { kind: "awaitAuth" };
        continue;
      }
      if (phase.kind === "awaitAuth") break;
      if (phase.kind === "dropPassword") {
        if (phase.remaining === undefined) {
          if (this.held.length === 0) break;
          if (String.fromCharCode(this.held[0] ?? 0) !== "p") {
            this.phase = { kind: "passthrough" };
            continue;
          }
          if (this.held.length < 5) break;
          phase.remaining = this.held.readInt32BE(1) + 1;
        }
        const dropped = Math.min(phase.remaining, this.held.length);
        this.held = this.held.subarray(dropped);
        phase.remaining -= dropped;
        if (phase.remaining > 0) break;
        this.phase = { kind: "passthrough" };
        continue;
      }
      out.push(this.held);
      this.held = Buffer.alloc(0);
      break;
    }
    return Buffer.concat(out);
  }
}
