/**
 * The Node.js flags the gateway process runs with (`npm start`, `npm run gateway`, the benchmark; cluster workers
 * inherit them). Measured on the benchmark's unique-authorization workload (one core, 50 connections, where the
 * gateway's CPU is the limit):
 *
 * | flags                                             | requests/s | peak RSS |
 * |---------------------------------------------------|-----------:|---------:|
 * | V8 defaults                                       |        130 | 288 MiB  |
 * | --max-semi-space-size=32                          |        150 | 310–340 MiB |
 * | --max-semi-space-size=32 --heap-growing-percent=100 |      136 | 237 MiB  |
 * | --max-semi-space-size=32 --heap-growing-percent=50  |      124 | 205 MiB  |
 *
 * Each fetch leaves a response-sized tree that lives as long as its request; with 32 MiB semi-spaces most of it
 * dies young instead of being scavenged twice and promoted. What is promoted anyway is garbage within a few
 * hundred milliseconds, yet V8's default heap growth (up to 4× the live size between full collections) lets the
 * old generation balloon to several times the ~80 MiB live under load; a fixed 2× growth keeps it near its live
 * size for a tenth of the throughput. Keep package.json's "gateway" script in step
 * (test/e2e/gatewayProcess.test.ts checks it).
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32', '--heap-growing-percent=100'];
