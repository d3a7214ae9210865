/**
 * How the collector's HTTP server closes. A plain `server.close()` waits for every open
 * connection, so one client that stalls (a request half sent, a body that never ends) would hold
 * a SIGTERM'd collector open forever. Closing here lets every request already received finish
 * and be answered, and cuts the connections that are only waiting on their client.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/**
 * On `app.close()`: connections that are idle, still receiving a request (headers or body) or
 * opened after closing began are destroyed at once; a connection whose request has fully arrived
 * is closed as soon as its response is sent. A client cut while sending was acknowledged
 * nothing, and sends again, as after a crash.
 */
export function closeWithoutWaitingOnClients(app: FastifyInstance): void {
  const sockets = new Set<Socket>();
  // The request each connection is carrying, from its headers until its response is done.
  const carrying = new Map<Socket, IncomingMessage>();
  let closing = false;

  app.server.on('connection', (socket: Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      carrying.delete(socket);
    });
  });
  app.addHook('onRequest', (request, reply, done) => {
    const socket = request.raw.socket;
    if (sockets.has(socket)) {
      carrying.set(socket, request.raw);
      reply.raw.once('close', () => {
        carrying.delete(socket);
        // Answered: end once the response is flushed, rather than wait for a next request.
        if (closing) socket.end(() => socket.destroy());
      });
    }
    done();
  });
  app.addHook('preClose', (done) => {
    closing = true;
    for (const socket of sockets) {
      if (carrying.get(socket)?.complete !== true) socket.destroy();
    }
    done();
  });
}
