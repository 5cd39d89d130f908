/**
 * The Node.js flags the gateway process runs with (`npm start`, `npm run gateway`, the benchmark; cluster workers
 * inherit them). Measured on the benchmark's unique-authorization workload (one core, 50 connections): the
 * gateway allocates a response-sized tree per fetch, and with V8's default 16 MiB semi-spaces most of it is
 * scavenged twice and promoted; 32 MiB semi-spaces let it die young — about 15 % more requests per second for
 * about 10 % more peak memory. Keep package.json's "gateway" script in step (test/e2e/gatewayProcess.test.ts).
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];
