import { Admin } from "@platformatic/kafka";
import { describeSecurity, type KafkaSecurity } from "./security.ts";

/** Kafka answered, but refused these settings: a deployment to fix, not an outage to wait out. */
export class KafkaLoginError extends Error {
  override readonly name = "KafkaLoginError";
}

/** Node's codes of a broker certificate the client does not trust. */
const CERTIFICATE_CODES = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

const causes = function* (error: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  const queue = [error];
  while (queue.length > 0) {
    const next = queue.shift();
    if (next === undefined || next === null || seen.has(next)) continue;
    seen.add(next);
    yield next;
    if (typeof next === "object") {
      const { cause, errors } = next as { cause?: unknown; errors?: unknown };
      queue.push(cause);
      if (Array.isArray(errors)) queue.push(...errors);
    }
  }
};

/** The broker's own answers to a SASL exchange that failed (Kafka error codes 33, 34 and 58). */
const isSaslFailure = (cause: unknown): boolean => {
  const id = (cause as { apiId?: unknown }).apiId;
  return (
    id === "SASL_AUTHENTICATION_FAILED" || id === "UNSUPPORTED_SASL_MECHANISM" || id === "ILLEGAL_SASL_STATE"
  );
};

/** Why Kafka refused the settings, or undefined when the failure is not a refusal (down, slow). */
export const refusal = (error: unknown, security: KafkaSecurity): string | undefined => {
  for (const cause of causes(error)) {
    const code = (cause as { code?: unknown }).code;
    if (code === "PLT_KFK_AUTHENTICATION" || isSaslFailure(cause)) {
      const who = security.sasl ? `${security.sasl.mechanism} login of ${security.sasl.username}` : "login";
      return `Kafka refused the ${who}: check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM`;
    }
    if (typeof code === "string" && CERTIFICATE_CODES.has(code)) {
      return `the Kafka brokers' TLS certificate is not trusted (${code}): set KAFKA_TLS_CA to the CA that signed it`;
    }
  }
  return undefined;
};

/**
 * Asks the cluster for its metadata once, at start: a refused login or an untrusted certificate
 * throws a KafkaLoginError naming the setting to fix, so a process with a wrong password exits with
 * that message instead of retrying it forever as if Kafka were down. Kafka not answering is not an
 * error here: the processes wait outages out.
 */
export const verifyKafkaLogin = async (
  brokers: string[],
  security: KafkaSecurity,
  timeoutMs = 10_000,
): Promise<"answered" | "no answer"> => {
  const admin = new Admin({
    ...security,
    bootstrapBrokers: brokers,
    clientId: "login-check",
    connectTimeout: Math.min(5_000, timeoutMs),
    timeout: timeoutMs,
    requestTimeout: timeoutMs,
    retries: 0,
  });
  try {
    await admin.metadata({ topics: [] });
    return "answered";
  } catch (error) {
    const reason = refusal(error, security);
    if (reason) throw new KafkaLoginError(`${reason} (${describeSecurity(security)})`, { cause: error });
    return "no answer";
  } finally {
    await admin.close().catch(() => undefined);
  }
};
