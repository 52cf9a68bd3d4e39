// The full runs side by side: every full `npm run bench` leaves its goals in bench/runs/<date>.json
// (committed), and BENCHMARKS.md shows the latest run in full and, in this table, its goals beside
// the run before it. A goal counts as met only when the median of each run meets it.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const STATUS = { met: 'met', missed: '**missed**', 'not measured': 'not measured', info: '(context)' };

/** Keeps this full run's goals in bench/runs/. */
export function recordRun(results, goals, root) {
  let commit = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout: the date identifies the run
  }
  const name = `${results.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`;
  const run = { date: results.date, commit, command: 'npm run bench', rounds: results.rounds, machine: results.machine, goals };
  writeFileSync(join(root, 'bench', 'runs', name), JSON.stringify(run, null, 2) + '\n');
}

/** The last two full runs' goals side by side; [] before there are two. */
export function runsSection(root) {
  const dir = join(root, 'bench', 'runs');
  const runs = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
  if (runs.length < 2) return [];
  const [earlier, latest] = runs.slice(-2);
  const label = (run) => `${run.date.slice(0, 16).replace('T', ' ')} UTC${run.commit ? `, ${run.commit}` : ''}`;
  const byGoal = new Map(earlier.goals.map((g) => [g.goal, g]));
  const cell = (g) => (g ? `${g.figure}: ${STATUS[g.status]}` : 'not in this run');
  const lines = ['## The last two full runs', ''];
  lines.push(
    `Each full \`npm run bench\` keeps its goals in \`bench/runs/\`. This run (${label(latest)}) is the one in full above and below; ` +
      `beside it, the full run before it (${label(earlier)}) as a summary. A goal is met over both only when the median of each run meets it.`,
    '',
    `| goal | ${label(earlier)} | ${label(latest)} | over both |`,
    '| --- | --- | --- | --- |',
  );
  const seen = new Set();
  for (const g of latest.goals) {
    const before = byGoal.get(g.goal);
    seen.add(g.goal);
    const both =
      g.status === 'info' ? '(context)' : !before ? 'one run only' : before.status === 'met' && g.status === 'met' ? 'met' : before.status === 'not measured' || g.status === 'not measured' ? 'not measured' : '**missed**';
    lines.push(`| ${g.goal} | ${cell(before)} | ${cell(g)} | ${both} |`);
  }
  for (const g of earlier.goals) if (!seen.has(g.goal)) lines.push(`| ${g.goal} | ${cell(g)} | not in this run | one run only |`);
  lines.push('');
  return lines;
}
