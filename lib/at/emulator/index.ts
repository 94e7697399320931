export * from './profiles';
export * from './emulated-modem';
export * from './sim-port';
