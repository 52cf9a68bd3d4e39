/**
 * The page's script, an ES module. It talks to the app through the library's browser client
 * (`nest-sessions/client`, served beside it): the client sends the CSRF header, refreshes ahead
 * of expiry and on ACCESS_TOKEN_EXPIRED (one refresh for every caller, across tabs), and
 * reports a session that ended as a `signedout` event.
 *
 * While signed in it also holds a socket.io connection to the `/events` gateway (authenticated by
 * the access cookie, same origin): when the session ends elsewhere (another device signs it out,
 * "Log out everywhere" there, an administrator) the server sends `session.ended` at once and the
 * page says "You were signed out from another device" without waiting for its next request.
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
const SIGNED_OUT_ELSEWHERE = 'You were signed out from another device';
const SESSION_EXPIRED = 'Your session expired';

const client = createSessionClient({ baseUrl: ROOT });
window.sessionClient = client; // for the browser test, and for anyone curious in the console
const $ = (id) => document.getElementById(id);

// The CSRF cookie lives exactly as long as the session's cookies, and is the one a script may
// read: without it there is no session to ask /me about (and no 401 in the console).
const CSRF_COOKIES = ['__Host-ns-csrf', 'ns-csrf'];
const hasSessionCookie = () => document.cookie.split('; ').some((c) => CSRF_COOKIES.some((name) => c.startsWith(name + '=')));

let view = null; // 'in' | 'out': the focus moves when the view changes, not at the first load

function showSignedOut() {
  // Nobody at this device can log in again by pressing a button: the passwords are gone.
  for (const input of document.querySelectorAll('input[type=password]')) input.value = '';
  $('signed-in').hidden = true;
  $('signed-out').hidden = false;
  if (view === 'in') ($('notice').textContent ? $('notice') : $('login-title')).focus();
  view = 'out';
}

function showSignedIn() {
  $('signed-out').hidden = true;
  $('signed-in').hidden = false;
  if (view === 'out') $('signed-in-title').focus();
  view = 'in';
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
  const me = hasSessionCookie() ? await api('GET', '/me') : { ok: false };
  if (!me.ok) {
    closeSocket();
    return showSignedOut();
  }
  openSocket();
  $('me-email').textContent = me.data.email;
  $('me-roles').textContent = me.data.roles.length ? 'Roles: ' + me.data.roles.join(', ') : '';
  showSignedIn();
  const notes = await api('GET', '/notes');
  const list = notes.data || [];
  $('notes').replaceChildren(...list.map((n) => li(n.text, new Date(n.createdAt).toLocaleString())));
  $('notes-empty').hidden = list.length > 0;
  const sessions = await api('GET', '/auth/sessions');
  // This device first, then the others by their last activity.
  const rows = (sessions.data || []).slice().sort((a, b) => (b.current - a.current) || (Date.parse(b.lastSeenAt) - Date.parse(a.lastSeenAt)));
  $('sessions').replaceChildren(...rows.map(sessionItem));
}

/** A session as its owner recognises it: the device, where from, when last used. */
function sessionItem(s) {
  const device = s.device || 'An unknown device';
  const item = li(device, (s.ip ? 'from ' + s.ip + ' · ' : '') + 'last active ' + new Date(s.lastSeenAt).toLocaleString());
  if (s.current) {
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = 'This device';
    item.querySelector('.what').append(badge);
    return item;
  }
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = 'Sign out ' + device;
  button.addEventListener('click', async () => {
    if (!window.confirm('Sign out ' + device + '? It will have to log in again.')) return;
    showError(await api('DELETE', '/auth/sessions/' + s.id));
    load();
  });
  item.append(button);
  return item;
}

function li(text, note) {
  const item = document.createElement('li');
  const what = document.createElement('div');
  const title = document.createElement('span');
  title.className = 'what';
  title.textContent = text;
  const small = document.createElement('div');
  small.className = 'muted';
  small.textContent = note;
  what.append(title, small);
  item.append(what);
  return item;
}

async function logIn(credentials) {
  const login = await api('POST', '/auth/login', credentials);
  showError(login);
  if (login.ok) $('notice').textContent = ''; // a notice stays until the next login
  await load();
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  await logIn({ email: form.get('email'), password: form.get('password'), rememberMe: form.get('rememberMe') === 'on' });
});
$('register-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const credentials = { email: form.get('email'), password: form.get('password') };
  const registered = await api('POST', '/auth/register', credentials);
  if (!registered.ok) return showError(registered);
  await logIn(credentials);
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
