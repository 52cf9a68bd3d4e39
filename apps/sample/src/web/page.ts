/**
 * The sample web page: plain HTML with its own stylesheet and script (the CSP allows styles and
 * scripts from 'self' only, nothing inline). `root` is the global prefix as a path (`/api`), or
 * empty. Two forms, log in and register, so password managers fill the right one
 * (`current-password`, `new-password`); every input has a label.
 */
export const pageHtml = (root: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nest-sessions sample</title>
<link rel="icon" href="${root}/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${root}/app.css">
</head>
<body>
<header><h1>nest-sessions sample</h1></header>
<main>
<p id="notice" role="status" tabindex="-1"></p>
<p id="error" role="alert"></p>
<section id="signed-out" aria-labelledby="login-title">
  <div class="card">
    <h2 id="login-title" tabindex="-1">Log in</h2>
    <form id="login-form">
      <label for="login-email">Email</label>
      <input id="login-email" name="email" type="email" autocomplete="username" required>
      <label for="login-password">Password</label>
      <input id="login-password" name="password" type="password" autocomplete="current-password" required>
      <label class="check"><input id="login-remember" name="rememberMe" type="checkbox"> Keep me signed in on this device</label>
      <button type="submit">Log in</button>
    </form>
  </div>
  <div class="card">
    <h2 id="register-title">Create an account</h2>
    <form id="register-form">
      <label for="register-email">Email</label>
      <input id="register-email" name="email" type="email" autocomplete="username" required>
      <label for="register-password">Password <span class="muted">(8 characters or more)</span></label>
      <input id="register-password" name="password" type="password" autocomplete="new-password" minlength="8" required>
      <button type="submit">Register</button>
    </form>
  </div>
</section>
<section id="signed-in" aria-labelledby="signed-in-title" hidden>
  <div class="card">
    <h2 id="signed-in-title" tabindex="-1">Signed in as <span id="me-email"></span></h2>
    <p class="muted" id="me-roles"></p>
    <div class="actions">
      <button id="logout" type="button">Log out</button>
      <button id="logout-all" type="button" class="secondary">Log out everywhere</button>
    </div>
  </div>
  <div class="card">
    <h3>Notes</h3>
    <form id="note-form" class="inline">
      <label for="note-text" class="visually-hidden">New note</label>
      <input id="note-text" name="text" maxlength="2000" required placeholder="Write a note">
      <button type="submit">Add</button>
    </form>
    <ul id="notes"></ul>
    <p id="notes-empty" class="muted" hidden>No notes yet.</p>
  </div>
  <div class="card">
    <h3>Where you are signed in</h3>
    <ul id="sessions"></ul>
  </div>
</section>
</main>
<script type="module" src="${root}/app.js"></script>
</body>
</html>
`;
