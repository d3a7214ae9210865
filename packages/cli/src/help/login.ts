/** `provenant login --help` and `provenant logout --help`. */
export const loginHelp = `provenant login [--collector URL] [--port N] [--timeout SEC]

Signs you in through the collector's identity provider (OpenID Connect) and stores the
collector credential it hands out, keyed by collector URL, in
$XDG_CONFIG_HOME/provenant/credentials.json (default ~/.config/provenant/credentials.json,
mode 0600). Prints a URL to open in a browser; the browser comes back to a listener on
127.0.0.1 (authorization code + PKCE, RFC 8252).
  --collector URL   the collector (env PROVENANT_URL; default http://127.0.0.1:7410; alias --server)
  --port N          the loopback port to listen on (default: any free port)
  --timeout SEC     how long to wait for the browser (default 300)`;

export const logoutHelp = `provenant logout [--collector URL]

Forgets the credential stored for the collector and revokes it there.
  --collector URL   the collector (env PROVENANT_URL; default http://127.0.0.1:7410; alias --server)`;
