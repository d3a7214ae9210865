#!/usr/bin/env node
// The calling agent of the A2A pair: a planner agent instance in its own process. alice's
// credential reaches it (PROVENANT_INITIATOR_TOKEN); it asks the researcher agent over A2A three
// times: with a credential addressed to the researcher (answered), with none (refused), and with
// one addressed to another agent (refused). Prints one JSON line with what happened.
//
//   PROVENANT_URL=… IDENTITY_FILE=planner.key.json PROVENANT_INITIATOR_TOKEN=… \
//   RESEARCHER_URL=… RESEARCHER_ID=… OTHER_AGENT_ID=… node examples/a2a/planner.js
import { randomUUID } from 'node:crypto';
import { Role } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions } from '@a2a-js/sdk/client';
import { createRecorder } from '@provenant/sdk';
import { a2aClientAuth } from '@provenant/sdk/a2a';

const collectorUrl = required('PROVENANT_URL');
const researcherUrl = required('RESEARCHER_URL');
const researcherId = required('RESEARCHER_ID');
const otherAgentId = required('OTHER_AGENT_ID');

const recorder = createRecorder({
  collectorUrl,
  identityFile: required('IDENTITY_FILE'),
  agent: { name: 'planner', version: '3.0.0' },
  spool: false,
});

/** An A2A client of the researcher, with these interceptors. */
const clientWith = (...interceptors) =>
  new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      clientConfig: { interceptors },
    }),
  ).createFromUrl(researcherUrl);

const addressedTo = (audience) =>
  a2aClientAuth(recorder, {
    collectorUrl,
    audience,
    resource: `${researcherUrl}/a2a`,
    scope: ['repo:read'],
  });

const ask = async (client, text) => {
  try {
    const result = await client.sendMessage({
      tenant: '',
      message: {
        messageId: randomUUID(),
        contextId: '',
        taskId: '',
        role: Role.ROLE_USER,
        parts: [{ content: { $case: 'text', value: text }, metadata: undefined }],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: [],
      },
      configuration: undefined,
      metadata: undefined,
    });
    const parts = result.parts ?? result.status?.message?.parts ?? [];
    return { ok: true, text: parts.map((p) => p.content?.value ?? '').join(' ') };
  } catch (e) {
    return { ok: false, error: e.message, code: e.data?.[0]?.metadata?.code ?? e.reason };
  }
};

const taskId = `a2a-${randomUUID().slice(0, 8)}`;
const session = await recorder.session({
  initiatorToken: required('PROVENANT_INITIATOR_TOKEN'),
  taskId,
  prompt: 'What does acme/payments do? Ask the researcher.',
});
const results = await session.run(async () => ({
  delegated: await ask(await clientWith(addressedTo(researcherId)), 'What does acme/payments do?'),
  noCredential: await ask(await clientWith(), 'What does acme/payments do?'),
  wrongAudience: await ask(
    await clientWith(addressedTo(otherAgentId)),
    'What does acme/payments do?',
  ),
}));
await recorder.drain(5000);
await recorder.close();
console.log(JSON.stringify({ traceId: session.traceId, taskId, ...results }));

function required(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return v;
}
