export * from './call-state';
export * from './cause';
export * from './call';
export * from './media-stats';
