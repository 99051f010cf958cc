export { Camera, type CameraParams, type LookAtIntrinsics, MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, type Projection } from './camera.js';
export { MAX_ORBIT_CAMERAS, orbitCameras, type OrbitOptions } from './orbit.js';
export { pluckerRays, pluckerRaysBatch, type PluckerOptions } from './plucker.js';
export type { Vec3 } from './vec3.js';
