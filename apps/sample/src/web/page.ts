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
  [hidden] { display: none; }
</style>
</head>
<body>
<h1>nest-sessions sample</h1>
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
 */
export const PAGE_JS = `import { createSessionClient } from './session-client.mjs';

// The app's routes sit beside this script, under the global prefix when there is one.
const ROOT = new URL('.', import.meta.url).pathname.replace(/\\/$/, '');
const client = createSessionClient({ baseUrl: ROOT });
window.sessionClient = client; // for the browser test, and for anyone curious in the console
const $ = (id) => document.getElementById(id);

client.addEventListener('signedout', () => {
  $('signed-in').hidden = true;
  $('signed-out').hidden = false;
});

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
  if (!me.ok) return;
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
  load();
});
$('note-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const result = await api('POST', '/notes', { text: new FormData(event.target).get('text') });
  showError(result);
  if (result.ok) event.target.reset();
  load();
});
$('logout').addEventListener('click', async () => { showError(await api('POST', '/auth/logout')); client.clear(); load(); });
$('logout-all').addEventListener('click', async () => { showError(await api('POST', '/auth/logout-all')); client.clear(); load(); });
load();
`;
