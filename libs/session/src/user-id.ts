import type { UserId } from './session.types';

/** A user id as the session row and the access token keep it: text, plus whether it was a number. */
export interface StoredUserId {
  text: string;
  numeric: boolean;
}

/** Validates an app's user id: a non-empty string up to 256 characters, or a safe integer. */
export function storeUserId(id: unknown): StoredUserId {
  if (typeof id === 'number' && Number.isSafeInteger(id)) return { text: String(id), numeric: true };
  if (typeof id === 'string' && id.length > 0 && id.length <= 256) return { text: id, numeric: false };
  throw new TypeError('nest-sessions: a user id must be a non-empty string (at most 256 characters) or a safe integer.');
}

/** The id in the type it went in as. */
export function restoreUserId(text: string, numeric: boolean): UserId {
  return numeric ? Number(text) : text;
}
