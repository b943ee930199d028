// The simulated site's prompt: one line, one command. The same words work typed at the prompt, in a
// --script file or piped in; `#` lines are narration (printed in a script, ignored at the prompt).
import type { Display } from './display.ts';
import { Hands, UserError } from './hands.ts';
import { nodeNamed, personNamed, targetNamed, type Person, type Target } from './plan.ts';
import { sleep } from './replicas.ts';

export const HELP = `commands (people: alice bob carol dan erin frank stranger; see 'people'):
  badge PERSON door|laser   present PERSON's card (a tap at the door; at the laser it stays on the reader)
  remove laser              take the card off the laser reader (card-present: the laser stops)
  open | close              open or close the front door (its reed switch); open while locked = forced open
  hold                      open the door and keep it open until the held-open alarm
  rex                       press the exit button inside the front door
  certify TRAINER MEMBER    the trainer badges at the laser, then the member within the window
  revoke PERSON             the office revokes PERSON's badge (a power event)
  suspend PERSON            the office suspends PERSON's membership
  cut NODE | heal NODE      take hub, door or laser off the network / bring it back and watch the merge
  status                    every node: agent, sync, replica state, door and laser
  log | anomalies           gdo access log / gdo access anomalies on the office's data directory
  people                    who is who
  tour                      a guided minute through all of the above
  wait SECONDS              pause (scripts)
  help | quit`;

/** A guided minute: comments narrate, commands act (run by the `tour` command). */
export const TOUR = `# Alice is a member: the members rule admits her in open hours (in the site's time zone).
badge alice door
# Bob is staff: the staff rule admits him at any time.
badge bob door
# Frank's evening pass is for weekday evenings only; Erin is suspended; nobody knows the stranger's card.
badge frank door
badge erin door
badge stranger door
# Alice badges and walks in: the strike relocks as soon as the door opens.
badge alice door
open
close
# The laser needs a certificate. Alice has none; Carol is a trainer and certifies her at the machine.
badge alice laser
certify carol alice
badge alice laser
remove laser
# Somebody forces the front door; later someone leaves by the exit button and props it open.
open
close
rex
hold
close
# The front door loses its network. The office revokes Alice's badge: the laser knows at once, the door cannot.
cut door
revoke alice
badge alice laser
badge alice door
# The link comes back: the replicas merge, and the door's offline grant is flagged on every node.
heal door
anomalies
status`;

export interface CommandContext {
  hands: Hands;
  display: Display;
  /** Typed at a terminal: the tour pauses between its steps. */
  interactive: boolean;
}

export type Outcome = 'ok' | 'failed' | 'quit';

function person(word: string | undefined): Person {
  const p = word === undefined ? undefined : personNamed(word);
  if (!p) throw new UserError(`who is '${word ?? ''}'? (people: alice bob carol dan erin frank stranger)`);
  return p;
}

function target(word: string | undefined): Target {
  const t = word === undefined ? undefined : targetNamed(word);
  if (!t) throw new UserError(`where is '${word ?? ''}'? (door or laser)`);
  return t;
}

function args(words: string[], n: number, usage: string): void {
  if (words.length - 1 !== n) throw new UserError(`usage: ${usage}`);
}

/** Runs one line; errors a person made are shown in one line and reported as 'failed'. */
export async function runLine(line: string, ctx: CommandContext): Promise<Outcome> {
  const text = line.trim();
  if (text === '') return 'ok';
  if (text.startsWith('#')) {
    if (!ctx.interactive) ctx.display.text(text, 'note');
    return 'ok';
  }
  try {
    return await dispatch(text.split(/\s+/), ctx);
  } catch (err) {
    ctx.display.text(`! ${(err as Error).message}`, 'deny');
    return 'failed';
  }
}

async function dispatch(w: string[], ctx: CommandContext): Promise<Outcome> {
  const h = ctx.hands;
  switch (w[0]!.toLowerCase()) {
    case 'help': case '?': ctx.display.text(HELP); return 'ok';
    case 'quit': case 'exit': case 'q': return 'quit';
    case 'badge': args(w, 2, 'badge PERSON door|laser'); await h.badge(person(w[1]), target(w[2])); return 'ok';
    case 'remove': args(w, 1, 'remove laser'); await h.remove(target(w[1])); return 'ok';
    case 'open': args(w, 0, 'open'); await h.setDoor(true); return 'ok';
    case 'close': args(w, 0, 'close'); await h.setDoor(false); return 'ok';
    case 'hold': args(w, 0, 'hold'); await h.hold(); return 'ok';
    case 'rex': args(w, 0, 'rex'); await h.rex(); return 'ok';
    case 'certify': args(w, 2, 'certify TRAINER MEMBER'); await h.certify(person(w[1]), person(w[2])); return 'ok';
    case 'revoke': args(w, 1, 'revoke PERSON'); await h.revoke(person(w[1]), 'badge'); return 'ok';
    case 'suspend': args(w, 1, 'suspend PERSON'); await h.revoke(person(w[1]), 'suspend'); return 'ok';
    case 'cut': case 'heal': {
      args(w, 1, `${w[0]!} hub|door|laser`);
      const n = nodeNamed(w[1]!);
      if (!n) throw new UserError(`which node is '${w[1]!}'? (hub, door or laser)`);
      if (w[0]!.toLowerCase() === 'cut') h.cut(n);
      else await h.heal(n);
      return 'ok';
    }
    case 'status': args(w, 0, 'status'); await h.status(); return 'ok';
    case 'log': args(w, 0, 'log'); await h.cli('log'); return 'ok';
    case 'anomalies': args(w, 0, 'anomalies'); await h.cli('anomalies'); return 'ok';
    case 'people': args(w, 0, 'people'); h.people(); return 'ok';
    case 'wait': {
      args(w, 1, 'wait SECONDS');
      const s = Number(w[1]);
      if (!Number.isFinite(s) || s < 0 || s > 600) throw new UserError('wait takes 0 to 600 seconds');
      await sleep(s * 1000);
      return 'ok';
    }
    case 'tour': return tour(ctx);
    default: throw new UserError(`unknown command '${w[0]!}' (help lists them)`);
  }
}

async function tour(ctx: CommandContext): Promise<Outcome> {
  let result: Outcome = 'ok';
  for (const line of TOUR.split('\n')) {
    if (line.startsWith('#')) {
      ctx.display.text(line, 'note');
      if (ctx.interactive) await sleep(1200);
      continue;
    }
    ctx.display.text(`> ${line}`, 'cmd');
    const r = await runLine(line, { ...ctx, interactive: false });
    if (r === 'failed') result = 'failed';
    if (ctx.interactive) await sleep(600);
  }
  return result;
}
