// Public GPIO API. The onoff backend is not re-exported here: importing it loads onoff's native epoll
// binding, which tests and the simulated site do not need. Import './onoff-backend.ts' where it is wanted.
export type { Clock, TimerHandle } from './clock.ts';
export { systemClock } from './clock.ts';
export { FakeClock } from './fake-clock.ts';
export { GpioError, isGpioError } from './errors.ts';
export type { GpioErrorCode } from './errors.ts';
export { FakeBoard } from './fake-board.ts';
export type { FakeWrite } from './fake-board.ts';
export { FakeGpioBackend } from './fake.ts';
export type { FakeGpioOptions } from './fake.ts';
export { DEFAULT_SYSFS_ROOT, HEADER_CHIP_LABELS, findHeaderChip, listChips, sysfsNumber } from './sysfs-chips.ts';
export type { SysfsChip } from './sysfs-chips.ts';
export type {
  Edge, GpioBackend, InputChange, InputLine, InputOptions, Level, OutputLine, OutputOptions,
} from './types.ts';
export { fromLevel, toLevel } from './types.ts';
