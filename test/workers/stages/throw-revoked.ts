// Throws what a handler may throw that is not an Error: a revoked Proxy (every inspection of
// it throws a TypeError), for the review finding on dead letters.
export function handler(value: unknown): void {
  if (value === 'revoked') {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    throw proxy;
  }
}
