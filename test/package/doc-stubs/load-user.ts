// A stand-in for an app's own `loadUser` (see test/package/doc-snippets.cjs).
import type { SessionUser } from 'nest-sessions';

/** The user's `{ id, roles }` as of now, or null for a deleted or disabled user. */
export async function loadUser(id: string): Promise<SessionUser | null> {
  return id ? { id, roles: [] } : null;
}
