/** Plain objects that cross the layers. */
export interface NewMessage {
  username: string;
  text: string;
  timeout: number;
}

export interface StoredMessage {
  id: number;
  username: string;
  text: string;
  expiresAt: Date;
}

/** `YYYY-MM-DD HH:MM:SS` in UTC, as the contract fixes it. */
export function formatExpiration(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}
