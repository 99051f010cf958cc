/**
 * Philox-4x32-10 in WGSL, word for word the JS `philox4x32` (philox.ts): WGSL has no 64-bit integers, so
 * the high half of each 32×32 product is assembled from 16-bit limbs exactly as the JS does.
 */
export const PHILOX_WGSL = `
  fn mulhi32(a : u32, b : u32) -> u32 {
    let al = a & 0xffffu;
    let ah = a >> 16u;
    let bl = b & 0xffffu;
    let bh = b >> 16u;
    let ll = al * bl;
    let hl = ah * bl;
    let lh = al * bh;
    let cross = (ll >> 16u) + (hl & 0xffffu) + (lh & 0xffffu);
    return ah * bh + (hl >> 16u) + (lh >> 16u) + (cross >> 16u);
  }

  fn philox4x32(counter : vec4<u32>, key : vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var round = 0; round < 10; round++) {
      if (round > 0) {
        k = k + vec2<u32>(0x9e3779b9u, 0xbb67ae85u);
      }
      let hi0 = mulhi32(0xd2511f53u, c.x);
      let lo0 = 0xd2511f53u * c.x;
      let hi1 = mulhi32(0xcd9e8d57u, c.z);
      let lo1 = 0xcd9e8d57u * c.z;
      c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    }
    return c;
  }
`;
