/** The page's stylesheet (no framework): readable at 375 px, touch targets of 44 px, nothing inline. */
export const PAGE_CSS = `:root { color-scheme: light; --ink: #1d2330; --muted: #5d6675; --line: #dde1e8; --accent: #2454d6; --danger: #b3261e; --notice: #fff4d6; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #f6f7f9; }
header { background: #fff; border-bottom: 1px solid var(--line); padding: .75rem 1rem; }
header h1 { margin: 0 auto; max-width: 44rem; font-size: 1.15rem; }
main { max-width: 44rem; margin: 0 auto; padding: 1rem; }
h2 { font-size: 1.25rem; margin: 0 0 .75rem; }
h3 { font-size: 1.05rem; margin: 0 0 .5rem; }
h2:focus, #notice:focus { outline: 2px solid var(--accent); outline-offset: 3px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 1rem; margin: 0 0 1rem; }
label { display: block; font-weight: 600; margin: .5rem 0 .25rem; }
label.check { display: flex; align-items: center; gap: .5rem; font-weight: 400; min-height: 44px; margin: .25rem 0; }
label.check input { width: 22px; height: 22px; min-height: 0; margin: 0; }
input { font: inherit; width: 100%; min-height: 44px; padding: .5rem .75rem; border: 1px solid #b8bfcc; border-radius: 8px; }
button { font: inherit; min-height: 44px; min-width: 44px; padding: .5rem 1rem; border: 1px solid var(--accent); border-radius: 8px; background: var(--accent); color: #fff; cursor: pointer; white-space: nowrap; }
button.secondary, #sessions button { background: #fff; color: var(--accent); }
#sessions button { border-color: var(--danger); color: var(--danger); }
form > button { margin-top: .75rem; }
form.inline { display: flex; gap: .5rem; }
form.inline input { flex: 1; min-width: 0; }
form.inline button { margin-top: 0; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; }
ul { list-style: none; margin: .75rem 0 0; padding: 0; }
li { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: .5rem; padding: .6rem 0; border-top: 1px solid var(--line); }
li:first-child { border-top: 0; }
.what { font-weight: 600; }
.muted { color: var(--muted); font-size: .9rem; font-weight: 400; }
.badge { display: inline-block; margin-left: .4rem; padding: 0 .5rem; border-radius: 999px; background: #e3ebff; color: var(--accent); font-size: .8rem; font-weight: 600; }
#notice:empty, #error:empty { display: none; }
#notice { background: var(--notice); border: 1px solid #e0b400; border-radius: 8px; padding: .6rem .8rem; }
#error { color: var(--danger); }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
[hidden] { display: none !important; }
#me-email { overflow-wrap: anywhere; }
@media (max-width: 30rem) { main { padding: .75rem; } .actions button { flex: 1 1 auto; } }
`;

/** A small icon, so the browser does not ask for /favicon.ico (a 404 in the console). */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#2454d6"/><path d="M10 15v-3a6 6 0 0 1 12 0v3" fill="none" stroke="#fff" stroke-width="3"/><rect x="8" y="15" width="16" height="11" rx="2" fill="#fff"/></svg>
`;
