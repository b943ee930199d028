// Public surface of the PN532 driver.
export { Pn532Poller } from './poller.ts';
export type {
  PollerCounters, PollerEvents, PollerFault, PollerLogEntry, PollerOptions, PollerState, PollerStatus,
} from './poller.ts';
export { openRstpdn, rstpdnPulse } from './rstpdn.ts';
export type { RstpdnPin, RstpdnPulseOptions } from './rstpdn.ts';
export type { CardEvent, CardRemovedEvent } from './card-presence.ts';
export { Pn532 } from './pn532.ts';
export type { DataExchangeResult, Pn532LogEntry, Pn532Options, Pn532Stats } from './pn532.ts';
export { Pn532Error, isPn532Error } from './errors.ts';
export type { Pn532ErrorCode } from './errors.ts';
export { Command, decodeTargetsA, encodeTargetsA } from './commands.ts';
export type { FirmwareVersion, TargetA } from './commands.ts';
export { Pn532Simulator } from './simulator.ts';
export type { Pn532SimulatorOptions, SimCard, SimFault, SimulatorStats } from './simulator.ts';
export { systemClock } from './clock.ts';
export type { Clock } from './clock.ts';
export { SerialPortTransport } from '../serial/serialport-transport.ts';
export type { SerialPortTransportOptions } from '../serial/serialport-transport.ts';
export { MockSerialBench } from '../serial/mock-bench.ts';
export type { ByteDevice } from '../serial/mock-bench.ts';
export { MemoryTransport } from '../serial/memory-transport.ts';
export type { ByteTransport } from '../serial/transport.ts';
