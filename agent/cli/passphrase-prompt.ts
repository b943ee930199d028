// A hidden prompt on the terminal: the prompt goes to stderr, the terminal is put in raw mode so nothing
// typed is echoed (not even a mask, so the length does not show), and the line is read by hand: Enter ends
// it, Backspace and Ctrl-U edit it, Ctrl-C and Ctrl-D on an empty line cancel, arrow keys are ignored. The terminal mode is put
// back whatever happens. Only for process.stdin when it is a TTY (keyfile.ts checks).
import { StringDecoder } from 'node:string_decoder';
import type { ReadStream } from 'node:tty';

export class PromptCancelled extends Error {}

/** What was typed after an Enter, before the next prompt (typed ahead, or pasted with the newline). */
let ahead = '';

export function askHidden(prompt: string): Promise<string> {
  const input = process.stdin as ReadStream;
  // No echo before the prompt shows: whoever waits for the prompt to type must not be echoed.
  input.setRawMode(true);
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    let line = '';
    let esc = 0; // inside an escape sequence (arrow keys: ESC [ A): 1 after ESC, 2 in its parameters
    let settled = false;
    const done = (err: Error | undefined): void => {
      settled = true;
      input.off('data', onData);
      input.off('end', onEnd);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
      if (err) reject(err); else resolve(line);
    };
    const onEnd = (): void => done(new PromptCancelled('end of input'));
    const onData = (chunk: Buffer | string): void => {
      const chars = [...(typeof chunk === 'string' ? chunk : decoder.write(chunk))];
      for (const [i, ch] of chars.entries()) {
        if (esc === 1) { esc = ch === '[' || ch === 'O' ? 2 : 0; continue; }
        if (esc === 2) { if (ch >= '@' && ch <= '~') esc = 0; continue; }
        if (ch === '\u001b') { esc = 1; continue; }
        if (ch === '\r' || ch === '\n') { ahead = chars.slice(i + 1).join(''); return done(undefined); }
        if (ch === '\u0003') return done(new PromptCancelled('Ctrl-C'));
        if (ch === '\u0004') { if (line === '') return done(new PromptCancelled('Ctrl-D')); continue; }
        if (ch === '\u007f' || ch === '\b') { line = [...line].slice(0, -1).join(''); continue; }
        if (ch === '\u0015') { line = ''; continue; }
        if (ch < ' ') continue; // other control characters are not part of a passphrase
        line += ch;
      }
    };
    if (ahead !== '') {
      const typed = ahead;
      ahead = '';
      onData(typed);
      if (settled) return;
    }
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
  });
}
