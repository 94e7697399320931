export * from './profiles';
export * from './emulated-modem';
export * from './emulated-sim';
export * from './sim-port';
