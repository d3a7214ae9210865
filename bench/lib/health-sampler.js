// GET /healthz one request at a time, a pause between requests, in a worker thread of the
// benchmark process: the latencies are the collector's, not the wait for the load generator's own
// event loop (which stringifies request bodies and parses trace pages beside it).
//   const sampler = startHealthSampler(url, { pauseMs: 20 }); … const ms = await sampler.stop();
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { keepAliveAgent, send } from './http.js';

if (!isMainThread && workerData?.healthSampler) {
  const { url, pauseMs } = workerData.healthSampler;
  const agent = keepAliveAgent(1);
  const latencies = [];
  let stop = false;
  parentPort.once('message', () => (stop = true));
  while (!stop) {
    const t = performance.now();
    const res = await send(agent, `${url}/healthz`);
    if (res.status !== 200) throw new Error(`healthz answered ${res.status}: ${res.body}`);
    latencies.push(performance.now() - t);
    await sleep(pauseMs);
  }
  agent.destroy();
  parentPort.postMessage(latencies);
}

/** Starts sampling `url`/healthz; `stop()` resolves with the latencies in ms. */
export function startHealthSampler(url, { pauseMs = 20 } = {}) {
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { healthSampler: { url, pauseMs } },
  });
  const result = new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`health sampler exited (code ${code})`)));
  });
  return {
    async stop() {
      worker.postMessage('stop');
      return result;
    },
  };
}
