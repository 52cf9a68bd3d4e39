/**
 * The sample web page: plain HTML, no inline script (the CSP allows scripts from 'self' only).
 * `root` is the global prefix as a path (`/api`), or empty.
 */
export const pageHtml = (root: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nest-sessions sample</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  section { border: 1px solid #ddd; border-radius: 6px; padding: 1rem; margin: 1rem 0; }
  input, button { font: inherit; padding: .3rem .5rem; margin: .2rem 0; }
  li { margin: .3rem 0; } .muted { color: #777; font-size: .9em; } #error { color: #b00020; min-height: 1.2em; }
  #notice:not(:empty) { background: #fff4d6; border: 1px solid #e0b400; border-radius: 6px; padding: .5rem .75rem; }
  [hidden] { display: none; }
</style>
</head>
<body>
<h1>nest-sessions sample</h1>
<p id="notice" role="status"></p>
<p id="error" role="alert"></p>
<section id="signed-out">
  <h2>Register or log in</h2>
  <form id="auth-form">
    <label>Email <input name="email" type="email" autocomplete="username" required></label><br>
    <label>Password <input name="password" type="password" autocomplete="current-password" minlength="8" required></label><br>
    <button type="submit" data-action="login">Log in</button>
    <button type="submit" data-action="register">Register</button>
  </form>
</section>
<section id="signed-in" hidden>
  <p>Signed in as <strong id="me-email"></strong> <span class="muted" id="me-roles"></span>
     <button id="logout">Log out</button> <button id="logout-all">Log out everywhere</button></p>
  <h2>Notes</h2>
  <form id="note-form"><input name="text" maxlength="2000" required placeholder="A note"> <button>Add</button></form>
  <ul id="notes"></ul>
  <h2>My sessions</h2>
  <ul id="sessions"></ul>
</section>
<script type="module" src="${root}/app.js"></script>
</body>
</html>
`;

/**
 * The page's script, an ES module. It talks to the app through the library's browser client
 * (`nest-sessions/client`, served beside it): the client sends the CSRF header, refreshes ahead
 * of expiry and on ACCESS_TOKEN_EXPIRED (one refresh for every caller, across tabs), and
 * reports a session that ended as a `signedout` event.
 *
 * While signed in it also holds a socket.io connection to the `/events` gateway (authenticated by
 * the access cookie, same origin): when the session ends elsewhere (another device signs it out,
 * "Log out everywhere" there, an administrator) the server sends `session.ended` at once and the
 * page says "Signed out on another device" without waiting for its next request.
 */
export const PAGE_JS = `import { createSessionClient } from './session-client.mjs';

// The app's routes sit beside this script, under the global prefix when there is one.
const ROOT = new URL('.', import.meta.url).pathname.replace(/\\/$/, '');
// socket.io's browser client as socket.io itself serves it, at its path (/socket.io, which no
// global prefix moves): same origin, so the page's CSP ('self') allows the script and the
// connection; the very version of the server (the file ships inside the socket.io package, so
// nothing else to install or keep in step: socket.io-client is only a test dependency here); and
// socket.io answers these requests before Express or Fastify sees them, so it works on both
// adapters and under GLOBAL_PREFIX alike. Imported on demand: a server with serveClient off
// leaves the page working, without live notices.
const SOCKET_IO_CLIENT = '/socket.io/socket.io.esm.min.js';
const SIGNED_OUT_ELSEWHERE = 'Signed out on another device';
const SESSION_EXPIRED = 'Your session has expired; log in again';

const client = createSessionClient({ baseUrl: ROOT });
window.sessionClient = client; // for the browser test, and for anyone curious in the console
const $ = (id) => document.getElementById(id);

function showSignedOut() {
  $('signed-in').hidden = true;
  $('signed-out').hidden = false;
}

client.addEventListener('signedout', () => {
  closeSocket();
  showSignedOut();
});

// --- the live connection: session.ended ---------------------------------------------------------

let live = null; // { socket } while this page wants a connection (signed in)
let expiredInARow = 0; // handshakes refused with ACCESS_TOKEN_EXPIRED since the last accepted one

async function openSocket() {
  if (live) return;
  const current = (live = { socket: null });
  let io;
  try {
    ({ io } = await import(SOCKET_IO_CLIENT));
  } catch {
    if (live === current) live = null;
    return; // no socket.io client served: the page works without live notices
  }
  if (live !== current) return; // logged out meanwhile
  // forceNew: a connection of its own, so a handshake made again after a refresh is a new HTTP
  // request that carries the new access cookie (a shared one would replay the first request's).
  const socket = io('/events', { forceNew: true });
  current.socket = socket;
  window.sessionSocket = socket; // for the browser test
  let attemptAt = Date.now(); // when the current handshake was sent (the client's refresh(since))
  socket.io.on('reconnect_attempt', () => { attemptAt = Date.now(); });
  socket.on('session', () => {
    expiredInARow = 0;
    $('signed-in').dataset.live = 'true';
  });
  socket.on('disconnect', (reason) => {
    delete $('signed-in').dataset.live;
    // Dropped by the server without session.ended (its session store was unreachable for a
    // while): socket.io does not reconnect by itself after that, so try again in a few seconds,
    // spread out so that every page does not come back at once.
    if (reason === 'io server disconnect' && live === current) {
      closeSocket();
      setTimeout(() => { if (!$('signed-in').hidden) openSocket(); }, 5000 + Math.random() * 5000);
    }
  });
  // The session ended by another path than this page's own logout (which closes the socket
  // before it asks the server): revoked (another device, "Log out everywhere" elsewhere, an
  // administrator) or expired (its idle or absolute timeout), as the server's reason says.
  socket.on('session.ended', (ended) => {
    if (live !== current) return;
    closeSocket();
    $('notice').textContent = ended && ended.reason === 'expired' ? SESSION_EXPIRED : SIGNED_OUT_ELSEWHERE;
    client.clear();
    showSignedOut();
  });
  socket.on('connect_error', async (error) => {
    if (socket.active) return; // the network: socket.io tries again by itself
    const code = error.data && error.data.code;
    // The access cookie expired (a reconnection after a while offline, say): refresh over HTTP,
    // then a new connection whose handshake carries the new cookie. Twice in a row at most.
    if (code === 'ACCESS_TOKEN_EXPIRED' && expiredInARow++ < 2) {
      const refreshed = await client.refresh(attemptAt).catch(() => false);
      if (live !== current) return; // signed out meanwhile (a refused refresh says signedout)
      closeSocket();
      if (refreshed) openSocket();
      return;
    }
    // Refused for good: no more attempts until the page loads its state again. Whether the
    // session is over (UNAUTHENTICATED, SESSION_REVOKED...) is HTTP's to say.
    if (live === current) closeSocket();
    if (code === 'UNAUTHENTICATED' || code === 'SESSION_REVOKED' || code === 'REAUTHENTICATION_REQUIRED') {
      const me = await api('GET', '/me');
      if (!me.ok) {
        client.clear();
        showSignedOut();
      }
    }
  });
}

function closeSocket() {
  const current = live;
  live = null;
  window.sessionSocket = null;
  delete $('signed-in').dataset.live;
  if (current && current.socket) {
    current.socket.off();
    current.socket.close();
  }
}

// The tabs of this browser share one session: a tab that logs out tells the others first, so
// that they close their sockets before the server ends the session and do not report it as
// another device's doing; once it is done they load their state again.
const tabs = typeof BroadcastChannel === 'function' ? new BroadcastChannel('nest-sessions-sample') : null;
if (tabs) {
  tabs.addEventListener('message', (event) => {
    if (event.data === 'logging-out') closeSocket();
    if (event.data === 'logged-out') load();
  });
}

// --- the page -----------------------------------------------------------------------------------

async function api(method, path, body) {
  const headers = body === undefined ? {} : { 'content-type': 'application/json' };
  const res = await client.fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  return { ok: res.ok, status: res.status, data };
}

function showError(result) {
  $('error').textContent = result && !result.ok ? (result.data && result.data.message) || 'Request failed (' + result.status + ')' : '';
}

async function load() {
  const me = await api('GET', '/me');
  $('signed-in').hidden = !me.ok;
  $('signed-out').hidden = me.ok;
  if (!me.ok) return closeSocket();
  openSocket();
  $('me-email').textContent = me.data.email;
  $('me-roles').textContent = me.data.roles.length ? '(' + me.data.roles.join(', ') + ')' : '';
  const notes = await api('GET', '/notes');
  $('notes').replaceChildren(...(notes.data || []).map((n) => li(n.text, new Date(n.createdAt).toLocaleString())));
  const sessions = await api('GET', '/auth/sessions');
  $('sessions').replaceChildren(...(sessions.data || []).map((s) => {
    const item = li((s.current ? 'This browser' : s.userAgent || 'unknown client') + ' from ' + (s.ip || '?'), 'last seen ' + new Date(s.lastSeenAt).toLocaleString());
    if (!s.current) {
      const button = document.createElement('button');
      button.textContent = 'Sign out';
      button.addEventListener('click', async () => { showError(await api('DELETE', '/auth/sessions/' + s.id)); load(); });
      item.append(' ', button);
    }
    return item;
  }));
}

function li(text, note) {
  const item = document.createElement('li');
  item.textContent = text + ' ';
  const small = document.createElement('span');
  small.className = 'muted';
  small.textContent = note;
  item.append(small);
  return item;
}

$('auth-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const credentials = { email: form.get('email'), password: form.get('password') };
  if (event.submitter.dataset.action === 'register') {
    const registered = await api('POST', '/auth/register', credentials);
    if (!registered.ok) return showError(registered);
  }
  const login = await api('POST', '/auth/login', credentials);
  showError(login);
  if (login.ok) $('notice').textContent = ''; // the notice stays until the next login
  load();
});
$('note-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const result = await api('POST', '/notes', { text: new FormData(event.target).get('text') });
  showError(result);
  if (result.ok) event.target.reset();
  load();
});

/** This page's own logout: its socket (and its tabs') closes first, so no notice is shown here. */
async function logOut(path) {
  closeSocket();
  if (tabs) tabs.postMessage('logging-out');
  showError(await api('POST', path));
  client.clear();
  if (tabs) tabs.postMessage('logged-out');
  load();
}
$('logout').addEventListener('click', () => logOut('/auth/logout'));
$('logout-all').addEventListener('click', () => logOut('/auth/logout-all'));
load();
`;
