// Registers cpu, wasm and (where an adapter exists) webgpu before any suite is collected, so that
// describeBackends knows synchronously which backends to run.
import { prepareBackends } from '@tessera/tensor-core/testing';

await prepareBackends();
