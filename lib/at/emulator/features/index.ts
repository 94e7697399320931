import { EmulatorFeatureFactory } from '../emulator-feature';
import { audioFeature } from './audio';
import { faultsFeature } from './faults';
import { dtmfFeature } from './dtmf';
import { controlFeature } from './control';
import { forwardingFeature } from './forwarding';

/**
 * The emulator's feature modules, each answering its own commands (see emulator-feature.ts). A new
 * feature adds its factory here.
 */
export const EMULATOR_FEATURES: readonly EmulatorFeatureFactory[] = [
  faultsFeature,
  dtmfFeature,
  controlFeature,
  forwardingFeature,
  audioFeature,
];
