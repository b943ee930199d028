// Public API of the door and machine controllers (see types.ts for what the agent injects).
export type {
  AccessDecider, CardEvent, CardSource, Clock, Decision, DoorMode, DoorPolicy, EventSink, InputPinConfig,
  PinConfig, TimerHandle,
} from './types.ts';
export { ControllerConfigError } from './config-error.ts';
export { parseDoorConfig } from './door-config.ts';
export type { DoorConfig, DoorPins, FailMode } from './door-config.ts';
export { parseMachineConfig } from './machine-config.ts';
export type { MachineConfig, MachineMode, MachinePins } from './machine-config.ts';
export { DoorController } from './door.ts';
export type { DoorControllerOptions, DoorFault, DoorStatus } from './door.ts';
export { MachineController } from './machine.ts';
export type { MachineControllerOptions, MachineFault, MachineStatus } from './machine.ts';
export type { SessionEndReason } from './machine-session.ts';
export { forceSafe, openSafeOutput, safeOutputsFromConfig, safeOutputsOf } from './safe-outputs.ts';
export type { ForceSafeResult, SafeOutput } from './safe-outputs.ts';
export { installSafeExitHandlers } from './exit-handlers.ts';
export type { ProcessLike, SafeExitOptions } from './exit-handlers.ts';
export { PATTERNS } from './indicator.ts';
export { linkReaderFaults } from './reader-link.ts';
export type { ReaderFaultTarget, ReaderHealthSource, ReaderState } from './reader-link.ts';
