import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestCertificates {
  /** The CA that signed the broker's certificate, as PEM text (what KAFKA_TLS_CA takes). */
  caPem: string;
  caFile: string;
  /** The broker's unencrypted PKCS#8 key followed by its certificate (Kafka's PEM keystore). */
  keystoreFile: string;
}

/**
 * A throwaway CA and a certificate it signed for 127.0.0.1 and localhost, valid for two days, made
 * with the system's openssl into `dir`: what a SASL_SSL listener needs, and a CA no system trusts.
 */
export const makeTestCertificates = async (dir: string): Promise<TestCertificates> => {
  const file = (name: string) => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=storefront test CA",
  ]);
  await run("openssl", [
    "req",
    ...ec,
    "-keyout",
    file("broker.key"),
    "-out",
    file("broker.csr"),
    "-subj",
    "/CN=127.0.0.1",
  ]);
  await writeFile(file("broker.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    file("broker.csr"),
    "-CA",
    file("ca.pem"),
    "-CAkey",
    file("ca.key"),
    "-CAcreateserial",
    "-out",
    file("broker.pem"),
    "-days",
    "2",
    "-extfile",
    file("broker.ext"),
  ]);
  const [key, cert, caPem] = await Promise.all([
    readFile(file("broker.key"), "utf8"),
    readFile(file("broker.pem"), "utf8"),
    readFile(file("ca.pem"), "utf8"),
  ]);
  await writeFile(file("broker-keystore.pem"), `${key}${cert}`);
  return { caPem, caFile: file("ca.pem"), keystoreFile: file("broker-keystore.pem") };
};
