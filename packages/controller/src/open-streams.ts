// Long-lived calls (agent links, `logs -f`) by the token that opened them, so
// revoking a token ends them at once rather than at their next reconnect.
export type StreamCloser = (reason: string) => void;

export class OpenStreams {
  private readonly byToken = new Map<string, Set<StreamCloser>>();

  /** Returns the function to call when the stream ends by itself. */
  track(tokenId: string, close: StreamCloser): () => void {
    if (!tokenId) return () => undefined;
    let set = this.byToken.get(tokenId);
    if (!set) this.byToken.set(tokenId, (set = new Set()));
    set.add(close);
    return () => {
      set!.delete(close);
      if (set!.size === 0 && this.byToken.get(tokenId) === set) this.byToken.delete(tokenId);
    };
  }

  revoke(tokenId: string): number {
    const set = this.byToken.get(tokenId);
    this.byToken.delete(tokenId);
    for (const close of set ?? []) close('its token was revoked');
    return set?.size ?? 0;
  }
}
