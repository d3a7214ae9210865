import { connect } from 'node:net';
import type { Socket } from 'node:net';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { closeWithoutWaitingOnClients } from '../src/shutdown.js';

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the server sends until it closes the connection. */
function received(socket: Socket): Promise<string> {
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString()));
  return new Promise((resolve) => socket.once('close', () => resolve(text)));
}

/** A server with the close behaviour and a `/slow` route that answers when the test says. */
async function slowServer() {
  let started!: () => void;
  const handlerStarted = new Promise<void>((r) => (started = r));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const app = Fastify();
  closeWithoutWaitingOnClients(app);
  app.get('/slow', async () => {
    started();
    await released;
    return { done: true };
  });
  app.get('/fast', async () => ({ fast: true }));
  app.post('/upload', async () => ({ uploaded: true }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return { app, port, handlerStarted, release };
}

describe('closing the HTTP server', () => {
  it('answers the request being handled and cuts the clients that stall', async () => {
    const { app, port, handlerStarted, release } = await slowServer();

    // Idle keep-alive: a request answered, the connection kept open.
    const idle = await open(port);
    const idleText = received(idle);
    const answered = new Promise<void>((r) =>
      idle.on('data', (d: Buffer) => d.toString().includes('"fast":true') && r()),
    );
    idle.write('GET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
    await answered;
    // Headers half sent; a body that never ends.
    const halfHeaders = await open(port);
    halfHeaders.write('GET /fast HTTP/1.1\r\nHost: x\r\n');
    const halfBody = await open(port);
    halfBody.write(
      'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nabc',
    );
    // A request fully received, its handler running.
    const busy = await open(port);
    const busyText = received(busy);
    busy.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    // Accepted in order: the server has the stalled connections too.
    await handlerStarted;

    const closed = app.close();
    // The stalled clients are cut while the handler is still waiting.
    const halfHeadersText = received(halfHeaders);
    const halfBodyText = received(halfBody);
    expect(await halfHeadersText).toBe('');
    expect(await halfBodyText).toBe('');
    expect(await idleText).toContain('"fast":true');
    // The request being handled is answered in full, then the server closes.
    release();
    const reply = await busyText;
    expect(reply).toMatch(/^HTTP\/1\.1 200 /);
    expect(reply).toContain('{"done":true}');
    await closed;
  });

  it('refuses connections that open while closing', async () => {
    const { app, port, handlerStarted, release } = await slowServer();
    const busy = await open(port);
    const busyText = received(busy);
    busy.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await handlerStarted;

    const closed = app.close();
    // Until the listener closes, a new connection may be accepted: it is cut, never served.
    const late = await open(port).catch(() => null);
    if (late !== null) {
      const lateText = received(late);
      late.write('GET /slow HTTP/1.1\r\nHost: x\r\n');
      expect(await lateText).toBe('');
    }
    release();
    expect(await busyText).toContain('{"done":true}');
    await closed;
  });
});
