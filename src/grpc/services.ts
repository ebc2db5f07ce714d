/**
 * THE list of gRPC services Sluice serves. Each service lives in its own file and exports a
 * `register*(registry, deps)` that declares its handlers on the registry (see registry.ts).
 * To add a service: write its .proto under proto/, its file here, and append it below.
 */
import type { GrpcDeps, GrpcRegistry } from './registry.js';
import { registerAdmin } from './admin.js';
import { registerHealth } from './health.js';
import { registerPfs } from './pfs.js';
import { registerTransaction } from './transaction.js';
import { registerVersion } from './version.js';
import { registerPps } from './pps.js';
import { registerAuth, registerIdentityAndLicense } from './auth.js';

export type RegisterService = (registry: GrpcRegistry, deps: GrpcDeps) => void;

export const SERVICES: readonly RegisterService[] = [
  registerHealth,
  registerVersion,
  registerAdmin,
  registerTransaction,
  registerPfs,
  // ---- pps_v2 and auth_v2 (G2): append registerPps / registerAuth here ----
  registerPps,
  registerAuth,
  registerIdentityAndLicense,
];
