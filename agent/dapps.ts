// The dapps every gdo node runs. Each node must run the same set (and versions) to agree.
import type { Dapp } from './ledger/dapp.ts';
import { accessDapp } from '../dapps/access/index.ts';
import { badgeDapp } from '../dapps/badge/index.ts';
import { doorDapp } from '../dapps/door/index.ts';
import { machineDapp } from '../dapps/machine/index.ts';
import { memberDapp } from '../dapps/member/index.ts';
import { orgDapp } from '../dapps/org/index.ts';

export const allDapps: Dapp[] = [orgDapp, memberDapp, badgeDapp, doorDapp, machineDapp, accessDapp];
