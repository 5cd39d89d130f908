import { loadIdentityOptions } from '../../gateway/src/guards/identity.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Stack, startStack } from '../support/stack.js';
import { collect, eventually, wsClient } from '../support/subscriptions.js';

const TOKEN = 'secret-token';

/** A raw graphql-transport-ws socket: the tests speak the protocol themselves, right and wrong. */
async function rawSocket(url: string): Promise<{ socket: WebSocket; closed: Promise<{ code: number; reason: string }>; messages: unknown[] }> {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const messages: unknown[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { socket, closed, messages };
}

const send = (socket: WebSocket, message: unknown) => socket.send(typeof message === 'string' ? message : JSON.stringify(message));
const init = { type: 'connection_init', payload: { authorization: `Bearer ${TOKEN}` } };
const subscribe = (id: string) => ({
  type: 'subscribe',
  id,
  payload: { query: 'subscription { invoiceStatusChanged(projectId: "prj_01JFJG60M0Q0CQE75AR8B3HMHQ") { status } }' },
});
const acked = (messages: unknown[]) => eventually(() => messages.some((m) => (m as { type: string }).type === 'connection_ack'), 5_000, 'connection_ack');

describe('the gateway’s graphql-ws protocol discipline, with real sockets', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      gateway: { identity: { ...loadIdentityOptions({}), devTokens: [TOKEN] }, wsConnectionInitTimeoutMs: 300, wsMaxPayloadBytes: 4_096, wsKeepAliveMs: 100 },
    });
  });
  afterAll(() => stack.stop());

  it('closes 4408 when connection_init does not come in time', async () => {
    const { closed } = await rawSocket(stack.gatewayUrl);
    expect(await closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
  });

  it('closes 4429 on a second connection_init', async () => {
    const { socket, closed, messages } = await rawSocket(stack.gatewayUrl);
    send(socket, init);
    await acked(messages);
    send(socket, init);
    expect(await closed).toEqual({ code: 4429, reason: 'Too many initialisation requests' });
  });

  it('closes 4401 on subscribe before the connection is acknowledged', async () => {
    const { socket, closed } = await rawSocket(stack.gatewayUrl);
    send(socket, subscribe('1'));
    expect(await closed).toEqual({ code: 4401, reason: 'Unauthorized' });
  });

  it('closes 4409 on a duplicate operation id', async () => {
    const { socket, closed, messages } = await rawSocket(stack.gatewayUrl);
    send(socket, init);
    await acked(messages);
    send(socket, subscribe('same'));
    send(socket, subscribe('same'));
    expect(await closed).toEqual({ code: 4409, reason: 'Subscriber for same already exists' });
  });

  it('closes 4400 on a malformed message', async () => {
    const { socket, closed, messages } = await rawSocket(stack.gatewayUrl);
    send(socket, init);
    await acked(messages);
    send(socket, '{"type":"subscribe","id":');
    expect((await closed).code).toBe(4400);
  });

  it('closes 4403 when the credentials are refused at init', async () => {
    const { socket, closed } = await rawSocket(stack.gatewayUrl);
    send(socket, { type: 'connection_init', payload: { authorization: 'Bearer wrong' } });
    expect(await closed).toEqual({ code: 4403, reason: 'Forbidden' });
  });

  it('closes 1009 on a frame over the configured maxPayload', async () => {
    const { socket, closed, messages } = await rawSocket(stack.gatewayUrl);
    send(socket, init);
    await acked(messages);
    send(socket, {
      type: 'subscribe',
      id: 'big',
      payload: { query: `subscription { invoiceStatusChanged(projectId: "x") { status } } # ${'x'.repeat(5_000)}` },
    });
    expect((await closed).code).toBe(1009);
  });

  it('pings idle connections to keep them alive', async () => {
    const { socket, messages } = await rawSocket(stack.gatewayUrl);
    let pings = 0;
    socket.on('ping', () => pings++);
    send(socket, init);
    await acked(messages);
    await eventually(() => pings >= 2, 3_000, 'two keep-alive pings');
    socket.close();
  });

  it('applies the same credentials to HTTP: 401 without a token, 200 with it', async () => {
    const refused = await stack.query('{ projects(first: 1) { totalCount } }');
    expect(refused.status).toBe(401);
    expect(refused.body.errors![0]!.extensions).toEqual({ code: 'UNAUTHENTICATED' });
    const accepted = await stack.query('{ projects(first: 1) { totalCount } }', {}, { authorization: `Bearer ${TOKEN}` });
    expect(accepted.status).toBe(200);
  });

  it('forwards the caller’s authorization upstream, so callers with different credentials never share an upstream', async () => {
    const other = await startStack({ gateway: { identity: { ...loadIdentityOptions({}), devTokens: ['alpha', 'beta'] } } });
    try {
      const query = 'subscription ($p: ID) { invoiceStatusChanged(projectId: $p) { status } }';
      const variables = { p: 'prj_01JFJG60M0Q0CQE75AR8B3HMHQ' };
      const clients = [
        wsClient(other.gatewayUrl, { authorization: 'Bearer alpha' }),
        wsClient(other.gatewayUrl, { authorization: 'Bearer alpha' }),
        wsClient(other.gatewayUrl, { authorization: 'Bearer beta' }),
      ];
      for (const client of clients) collect(client, query, variables);
      await eventually(() => other.gateway.subscriptions.bridge.activeCount === 3);
      expect(other.gateway.subscriptions.upstreams.stats()).toMatchObject({ upstreams: 2, listeners: 3 });
      await Promise.all(clients.map((client) => client.dispose()));
    } finally {
      await other.stop();
    }
  });
});
