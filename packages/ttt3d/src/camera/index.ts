export { Camera, type CameraParams, type LookAtIntrinsics, type Projection } from './camera.js';
export { orbitCameras, type OrbitOptions } from './orbit.js';
export { pluckerRays, type PluckerOptions } from './plucker.js';
export type { Vec3 } from './vec3.js';
