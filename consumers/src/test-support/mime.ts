/**
 * Just enough MIME reading for tests to assert on what a stored email says: headers unfolded, and
 * quoted-printable soft breaks and escapes decoded in the body.
 */
export const readMime = (raw: string): { headers: string; body: string } => {
  const split = raw.indexOf("\r\n\r\n");
  const headers = raw.slice(0, split).replace(/\r\n[ \t]+/g, " ");
  const body = raw
    .slice(split + 4)
    .replace(/=\r\n/g, "")
    .replace(/(=[0-9A-F]{2})+/g, (run) => Buffer.from(run.replaceAll("=", ""), "hex").toString("utf8"));
  return { headers, body };
};
