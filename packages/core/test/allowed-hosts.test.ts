import { describe, expect, it } from 'vitest';
import {
  hostOfUrl,
  hostRefusal,
  listenerHosts,
  loopbackRule,
  parseAllowedHost,
  parseAllowedOrigin,
} from '../src/vocabulary/index.js';
import type { HostRule } from '../src/vocabulary/index.js';

const rule = (hosts: string[], origins: string[] = [], scheme: 'http' | 'https' = 'http') =>
  ({
    hosts: hosts.map(parseAllowedHost),
    origins: new Set(origins.map(parseAllowedOrigin)),
    scheme,
  }) satisfies HostRule;

describe('the Host rule (DNS rebinding)', () => {
  const loopback: HostRule = {
    hosts: listenerHosts('127.0.0.1', 7410),
    origins: new Set(),
    scheme: 'http',
  };

  it('answers the names a loopback listener is reached by, on its port', () => {
    for (const host of ['127.0.0.1:7410', 'localhost:7410', 'LOCALHOST:7410', '[::1]:7410']) {
      expect(hostRefusal(loopback, host, undefined)).toBeUndefined();
    }
  });

  it('refuses a rebound name, a missing or malformed Host', () => {
    for (const host of [
      'evil.example:7410',
      'evil.example',
      '127.0.0.1.evil.example:7410',
      'localhost:7410@evil.example',
      'localhost:',
      '[::1',
      '',
      undefined,
    ]) {
      expect(hostRefusal(loopback, host, undefined)).toBe('host_not_allowed');
    }
  });

  it('compares the name of the Host, not its port (an in-process request says port 80)', () => {
    const r = rule(['collector.example.com']);
    expect(hostRefusal(r, 'collector.example.com:8443', undefined)).toBeUndefined();
    expect(hostRefusal(loopback, 'localhost', undefined)).toBeUndefined();
    expect(hostRefusal(loopback, 'localhost:80', undefined)).toBeUndefined();
  });

  it('on a wildcard bind answers the loopback names and the published URL, not the wildcard', () => {
    const hosts = listenerHosts('0.0.0.0', 7410, ['https://ledger.acme.example']);
    const r: HostRule = { hosts, origins: new Set(), scheme: 'http' };
    expect(hostRefusal(r, 'ledger.acme.example', undefined)).toBeUndefined();
    expect(hostRefusal(r, 'ledger.acme.example:443', undefined)).toBeUndefined();
    expect(hostRefusal(r, 'localhost:7410', undefined)).toBeUndefined();
    expect(hostRefusal(r, '0.0.0.0:7410', undefined)).toBe('host_not_allowed');
    expect(hostRefusal(r, 'ledger.acme.example', 'https://ledger.acme.example')).toBeUndefined();
    expect(hostRefusal(r, 'ledger.acme.example', 'https://ledger.acme.example:7410')).toBe(
      'origin_not_allowed',
    );
  });

  it('brackets a bare IPv6 bind address', () => {
    const r: HostRule = { hosts: listenerHosts('::1', 9), origins: new Set(), scheme: 'http' };
    expect(hostRefusal(r, '[::1]:9', undefined)).toBeUndefined();
  });
});

describe('the Origin rule (cross-site requests)', () => {
  const r = rule(['127.0.0.1:7410', 'localhost:7410'], ['https://console.acme.example']);

  it('answers no Origin, the server’s own origins and the allowed ones', () => {
    for (const origin of [
      undefined,
      'http://127.0.0.1:7410',
      'http://localhost:7410',
      'https://console.acme.example',
      'https://console.acme.example:443',
    ]) {
      expect(hostRefusal(r, 'localhost:7410', origin)).toBeUndefined();
    }
  });

  it('refuses another site, another port, another scheme downgrade, null and junk', () => {
    for (const origin of [
      'http://evil.example',
      'http://localhost:3000',
      'http://console.acme.example',
      'null',
      'http://localhost:7410/path',
      'localhost:7410',
      '',
    ]) {
      expect(hostRefusal(r, 'localhost:7410', origin)).toBe('origin_not_allowed');
    }
  });

  it('takes the https origin of an allowed name behind a TLS proxy', () => {
    const behind = rule(['ledger.acme.example']);
    expect(hostRefusal(behind, 'ledger.acme.example', 'https://ledger.acme.example')).toBe(
      undefined,
    );
  });

  it('an app that does not know where it listens answers loopback names only', () => {
    expect(hostRefusal(loopbackRule(), 'localhost:80', undefined)).toBeUndefined();
    expect(hostRefusal(loopbackRule(), 'evil.example:80', undefined)).toBe('host_not_allowed');
  });
});

describe('configured entries', () => {
  it('parses names, ports, IPv6 and URLs', () => {
    expect(parseAllowedHost('Ledger.Example')).toEqual({ name: 'ledger.example' });
    expect(parseAllowedHost('[::1]:7410')).toEqual({ name: '[::1]', port: 7410 });
    expect(hostOfUrl('http://localhost:7410/x')).toEqual({ name: 'localhost', port: 7410 });
    expect(hostOfUrl('https://ledger.example')).toEqual({ name: 'ledger.example', port: 443 });
    expect(parseAllowedOrigin('HTTPS://Console.Example:443')).toBe('https://console.example');
  });

  it('refuses what is not a host or an origin, with config_invalid', () => {
    for (const bad of ['http://x', 'a b', 'x:0', 'x:70000', '*']) {
      expect(() => parseAllowedHost(bad)).toThrow(
        expect.objectContaining({ code: 'config_invalid' }),
      );
    }
    for (const bad of ['console.example', 'https://x/path', 'ftp://x', 'null']) {
      expect(() => parseAllowedOrigin(bad)).toThrow(
        expect.objectContaining({ code: 'config_invalid' }),
      );
    }
  });
});
