// Bad usage found after commander parsed the line (a value only a command can
// judge). Exit code 2, like commander's own usage errors.
export class UsageError extends Error {
  readonly hint?: string;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'UsageError';
    this.hint = hint;
  }
}
