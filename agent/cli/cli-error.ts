// An error a command reports with its own stable code and exit code (an enrolment refusal is
// ENROL_BAD_TOKEN, exit 3): main.ts prints it as `gdo: CODE: message`, or with --json as
// {"error":{"code":"CODE","message"},"exit":N}, like every other error (README, "The CLI").
export class CliError extends Error {
  constructor(readonly code: string, message: string, readonly exit: number) {
    super(message);
    this.name = 'CliError';
  }
}
