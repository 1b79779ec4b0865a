import { connect } from "node:net";
import { Admin } from "@platformatic/kafka";

/** What listens on a port: a Kafka broker, nothing, or something else. */
export type PortState = "kafka" | "closed" | "other";

/** True when something accepts TCP connections on host:port within `timeoutMs`. */
export function tcpOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** True when a Kafka broker at `broker` answers a metadata request within `timeoutMs`. */
export async function kafkaAnswers(broker: string, timeoutMs = 3000): Promise<boolean> {
  const admin = new Admin({
    clientId: "local-kafka-probe",
    bootstrapBrokers: [broker],
    connectTimeout: timeoutMs,
    timeout: timeoutMs,
    requestTimeout: timeoutMs,
    retries: 0,
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs + 500);
    });
    const answer = admin.metadata({ topics: [] }).then(
      (metadata) => metadata.brokers.size > 0,
      () => false,
    );
    return await Promise.race([answer, deadline]);
  } finally {
    clearTimeout(timer);
    await admin.close().catch(() => undefined);
  }
}

export async function probePort(host: string, port: number): Promise<PortState> {
  if (!(await tcpOpen(host, port))) return "closed";
  return (await kafkaAnswers(`${host}:${port}`)) ? "kafka" : "other";
}
