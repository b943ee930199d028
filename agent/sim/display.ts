// The simulated site's live display: one line per thing that happened, stamped with the time and the node
// it happened on, coloured when the terminal wants colour. People are named, never their cards.
export type Tone = 'allow' | 'deny' | 'alarm' | 'sync' | 'out' | 'info' | 'dim' | 'head' | 'cmd' | 'note';

const CODES: Record<Tone, string> = {
  allow: '1;32', deny: '1;31', alarm: '1;33', sync: '36', out: '35', info: '0', dim: '2', head: '1', cmd: '1;34', note: '33',
};

export interface DisplayOptions {
  color: boolean;
  /** Where text goes; the interactive prompt wraps it to keep the line being typed intact. */
  write?: (text: string) => void;
}

export class Display {
  readonly color: boolean;
  #write: (text: string) => void;

  constructor(o: DisplayOptions) {
    this.color = o.color;
    this.#write = o.write ?? ((t) => { process.stdout.write(t); });
  }

  setWriter(write: (text: string) => void): void { this.#write = write; }

  paint(tone: Tone, text: string): string {
    return this.color && tone !== 'info' ? `\x1b[${CODES[tone]}m${text}\x1b[0m` : text;
  }

  /** `12:03:04  front-door  text` */
  event(source: string, text: string, tone: Tone = 'info'): void {
    const t = new Date();
    const stamp = [t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
    this.#write(`${this.paint('dim', stamp)}  ${this.paint('head', source.padEnd(10))}  ${this.paint(tone, text)}\n`);
  }

  /** Lines as they are (tables, help, the CLI's own output). */
  text(text: string, tone: Tone = 'info'): void {
    this.#write(`${text.split('\n').map((l) => this.paint(tone, l)).join('\n')}\n`);
  }
}
