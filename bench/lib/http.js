// A minimal keep-alive HTTP client on node:http, cheap enough to share two cores with the
// collector it loads. Requests go only to the collector the benchmark started on 127.0.0.1.
import { Agent, request } from 'node:http';

export function keepAliveAgent(connections) {
  return new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
}

/** One request; resolves with the status and the body as a string. */
export function send(agent, url, { method = 'GET', body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers }, (res) => {
      const parts = [];
      res.setEncoding('utf8');
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: parts.join('') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Runs `count` jobs over `connections` concurrent workers; `job(i)` gets each index once.
 * Resolves when all are done; rejects on the first failure.
 */
export async function runConcurrently(count, connections, job) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await job(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(connections, count) }, worker));
}
