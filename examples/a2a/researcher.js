#!/usr/bin/env node
// The remote agent of the A2A pair: a researcher agent instance in its own process, serving A2A
// (JSON-RPC binding, `@a2a-js/sdk`) on loopback. Every request must carry a Provenant credential
// addressed to this agent; each invocation runs under a credential exchanged from it, so the
// tool call is verified with the chain alice → planner → researcher.
//
//   PROVENANT_URL=… IDENTITY_FILE=researcher.key.json node examples/a2a/researcher.js
//
// Prints one line `listening <url>` when ready; stops on SIGTERM.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import express from 'express';
import { AGENT_CARD_PATH, Role } from '@a2a-js/sdk';
import { DefaultRequestHandler, InMemoryTaskStore } from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler } from '@a2a-js/sdk/server/express';
import { PolicyDeniedError, createRecorder } from '@provenant/sdk';
import { provenantA2A } from '@provenant/sdk/a2a';

const collectorUrl = required('PROVENANT_URL');
const identityFile = required('IDENTITY_FILE');
const principal = JSON.parse(readFileSync(identityFile, 'utf8')).principal;

const recorder = createRecorder({
  collectorUrl,
  identityFile,
  agent: { name: 'researcher', version: '2.1.0' },
  spool: false,
});
const a2a = provenantA2A({ recorder, identity: identityFile, collectorUrl });

// The researcher's one tool: decided by the collector's policy, run, recorded.
const getFile = recorder.tool(
  'github.get_file',
  { resource: (a) => `repo:${a.repo}`, risk: 'low', server: 'github-mcp' },
  async (a) => `# ${a.repo}\n\n${a.path}: the payments service (scripted content).`,
);

const executor = {
  async execute(requestContext, eventBus) {
    const asked = textOf(requestContext.userMessage);
    let answer;
    try {
      answer = await a2a.invoked(
        requestContext,
        () => getFile({ repo: 'acme/payments', path: 'README.md' }),
        { prompt: asked },
      );
    } catch (e) {
      answer =
        e instanceof PolicyDeniedError ? `refused by policy: ${e.message}` : `failed: ${e.message}`;
    }
    eventBus.publish({ kind: 'message', data: agentMessage(requestContext, answer) });
    eventBus.finished();
  },
  async cancelTask() {},
};

const app = express();
const server = app.listen(0, '127.0.0.1', () => {
  const url = `http://127.0.0.1:${server.address().port}`;
  const card = {
    name: 'researcher',
    description: 'Reads the acme repositories for whoever asks through a Provenant delegation.',
    supportedInterfaces: [
      { url: `${url}/a2a`, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' },
    ],
    provider: undefined,
    version: '2.1.0',
    capabilities: { streaming: false, pushNotifications: false, extensions: [] },
    // A2A security scheme: a Bearer JWT, the Provenant credential addressed to this agent.
    securitySchemes: {
      provenant: {
        scheme: {
          $case: 'httpAuthSecurityScheme',
          value: {
            scheme: 'Bearer',
            bearerFormat: 'JWT',
            description: `A Provenant credential whose audience is ${principal}`,
          },
        },
      },
    },
    securityRequirements: [{ schemes: { provenant: { list: [] } } }],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [
      {
        id: 'read-repo',
        name: 'Read a repository file',
        description: 'Reads a file of an acme repository.',
        tags: ['github'],
        examples: ['What does acme/payments do?'],
        inputModes: [],
        outputModes: [],
        securityRequirements: [],
      },
    ],
    signatures: [],
  };
  const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
  app.use(`/${AGENT_CARD_PATH}`, agentCardHandler({ agentCardProvider: handler }));
  app.use(
    '/a2a',
    a2a.middleware,
    jsonRpcHandler({ requestHandler: handler, userBuilder: a2a.userBuilder }),
  );
  console.log(`listening ${url}`);
});

process.on('SIGTERM', async () => {
  server.close();
  await recorder.drain(5000);
  await recorder.close();
  process.exit(0);
});

function textOf(message) {
  return (message?.parts ?? [])
    .map((p) => (p.content?.$case === 'text' ? p.content.value : ''))
    .join(' ');
}

function agentMessage(requestContext, text) {
  return {
    messageId: randomUUID(),
    contextId: requestContext.contextId,
    taskId: '',
    role: Role.ROLE_AGENT,
    parts: [{ content: { $case: 'text', value: text }, metadata: undefined }],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}

function required(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return v;
}
