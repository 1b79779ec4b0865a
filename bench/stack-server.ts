import { type StackOptions, startStack } from "../local/stack.ts";

/**
 * The benchmark's local endpoints (Upstash REST, Neon, Kafka REST) in a process of their own, so the
 * load generator never shares an event loop with the servers it measures. Options come as JSON in
 * BENCH_STACK; the URLs go to stdout as one `READY {json}` line; SIGTERM stops everything.
 */
const options = JSON.parse(process.env.BENCH_STACK ?? "{}") as StackOptions;
const stack = await startStack({ ...options, log: (msg) => process.stderr.write(`[bench-stack] ${msg}\n`) });
const { close: _close, ...urls } = stack;
process.stdout.write(`READY ${JSON.stringify(urls)}\n`);
const stop = async () => {
  await stack.close();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
