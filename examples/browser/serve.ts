import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";

const PAGE = fileURLToPath(new URL("./index.html", import.meta.url));

export interface ExampleServer {
  /** Where the page is, e.g. http://127.0.0.1:5173 */
  url: string;
  close(): Promise<void>;
}

/** Serves the example page (a static file, as any web host would) on 127.0.0.1. Port 0: any free port. */
export const serveExample = async (port: number): Promise<ExampleServer> => {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (req.method !== "GET" || (path !== "/" && path !== "/index.html")) {
      res.writeHead(404).end("not found");
      return;
    }
    readFile(PAGE).then(
      (page) => res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page),
      (error: unknown) => res.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { url } = await serveExample(Number(process.env.EXAMPLE_PORT ?? 5173));
  const api = process.env.API_URL ?? "http://127.0.0.1:8787";
  process.stdout.write(`example browser client: ${url}/?api=${api}\n`);
}
