// The dapps every gdo node runs. Each node must run the same set (and versions) to agree.
import type { Dapp } from './ledger/dapp.ts';
import { orgDapp } from '../dapps/org/index.ts';

export const allDapps: Dapp[] = [orgDapp];
