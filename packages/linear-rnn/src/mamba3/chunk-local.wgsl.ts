/** Rotated pairs (angle channels) of one 64-column N tile. */
export const TILE_PAIRS = 32;

/**
 * WGSL shared by ChunkLocalProgram and ChunkScanProgram: `chunkLocal(bh, chunk, pt, nt, tid, loadChunk(…))`
 * computes, for a workgroup of 256 threads, one chunk's own contribution to the state in the frame of the chunk start,
 *   Σ_{s in chunk, r} e^{cs_last − cs_s} scale_s v_{s,r} (R(φ_s) k_{s,r})ᵀ,
 * on the 64-row P tile `pt` × 64-column N tile `nt`, each thread holding a 4×4 block (rows 4·(tid/16) …,
 * columns 4·(tid%16) …) in vec4 registers. φ_s = Σ_{u ≤ s in chunk} π·tanh(theta_u)·Δ_u is the angle since the
 * chunk start and cs_s = Σ_{u ≤ s in chunk} AΔ_u the log-decay since it (papers/linear_rnn.md 1.3, 1.6). The
 * rotation by the angle entering the chunk is left to the caller: rotations of a pair compose, so
 * R(θ_c + φ_s) k = R(θ_c) R(φ_s) k and the whole chunk's sum turns by R(θ_c) at once (a column rotation), which is
 * what lets the chunks run in parallel before the angle scan over chunks (StatePassProgram) has run.
 *
 * `loadChunk` issues every global load of the chunk (its x and B rows, Δ, A, λ and theta) into registers and uses
 * none of them, so that one memory latency covers them all — and, in ChunkScanProgram, the next chunk's loads are
 * in flight while `chunkLocal` computes this one. `chunkLocal` puts the per-token scalars and the angle increments go to shared memory
 * and are scanned over the tokens (Hillis–Steele, six constant steps; the angle combine wraps mod 2π, as the
 * angle state does, so the sums stay below 4π). Workgroups of the first P tile write the token table row of each
 * token (tokenWidth: the φ of the tile's pairs; the first N tile also cs, γ and scale). Last, two 32-row slabs of v
 * and of w·R(φ)k (w_i = e^{cs_last − cs_i} scale_i) go through shared memory and the outer products run over it.
 *
 * On return, csS[tokens − 1] (the chunk's log-decay) and angS[(tokens − 1)·32 + jl] (its angle per pair of the
 * tile) stay readable until the next call, which waits at a barrier before overwriting them.
 * Bindings it reads: `values` (x), `keys` (B), `dt`, `decay` (A), `trap` (λ), `theta`; it writes `result`.
 */
export const CHUNK_LOCAL_WGSL = `
  // 32 rows × 64 columns of v (P tile) and of w·R(φ)k (N tile): vs[i·16 + p/4][p%4] (8 KiB each)
  var<workgroup> vs : array<vec4<f32>, 512>;
  var<workgroup> ks : array<vec4<f32>, 512>;
  // angS[t·32 + jl]: the angle φ of token t of the chunk for pair 32·nt + jl (8 KiB)
  var<workgroup> angS : array<f32, ${64 * TILE_PAIRS}>;
  // per token of the chunk: cs, scale, Δ; per row: the weight w
  var<workgroup> csS : array<f32, 64>;
  var<workgroup> scaleS : array<f32, 64>;
  var<workgroup> dtS : array<f32, 64>;
  var<workgroup> wS : array<f32, 64>;

  struct Block {
    r0 : vec4<f32>,
    r1 : vec4<f32>,
    r2 : vec4<f32>,
    r3 : vec4<f32>,
  };

  // pair (u.x, u.y) = elements (2j, 2j+1) of a key of chunk token t, turned by its angle since the chunk start
  fn rotateLocal(u : vec2<f32>, t : i32, j : i32, jl : i32) -> vec2<f32> {
    if (j >= uniforms.angles) {
      return u;
    }
    return rotateBy(u, angS[t * ${TILE_PAIRS} + jl]);
  }

  // what a thread reads of one chunk from global memory, raw: nothing in it is used before the next chunk's loads
  // are out (ChunkScanProgram loads chunk c + 1 while it computes chunk c)
  struct ChunkLoads {
    // rows e/16 and columns 4·(e%16) … of x (P tile) and B (N tile), e = k·256 + tid
    x : array<vec4<f32>, 4>,
    k : array<vec4<f32>, 4>,
    // theta of token e/32, pair 32·nt + e%32, e = k·256 + tid
    theta : array<f32, 8>,
    // thread t < tokens: Δ, A, λ of token t and Δ, λ of token t + 1
    dt : f32,
    decay : f32,
    trap : f32,
    dtNext : f32,
    trapNext : f32,
  };

  fn loadChunk(bh : i32, chunk : i32, pt : i32, nt : i32, tid : i32) -> ChunkLoads {
    let P = uniforms.headDim;
    let N = uniforms.stateDim;
    let R = uniforms.rank;
    let L = uniforms.seqLen;
    let nr = uniforms.angles;
    let t0 = chunk * uniforms.tileTokens;
    let tokens = min(uniforms.tileTokens, L - t0);
    let rows = tokens * R;
    // (token, rank) rows of a chunk are contiguous in x and B: row i of this chunk is row0 + i
    let row0 = (bh * L + t0) * R;
    var loads : ChunkLoads;
    for (var k = 0; k < 4; k++) {
      let e = k * 256 + tid;
      let i = e / 16;
      let p = pt * 64 + (e % 16) * 4;
      let n = nt * 64 + (e % 16) * 4;
      if (i < rows) {
        for (var c = 0; c < 4; c++) {
          if (p + c < P) {
            loads.x[k][c] = values[(row0 + i) * P + p + c];
          }
          if (n + c < N) {
            loads.k[k][c] = keys[(row0 + i) * N + n + c];
          }
        }
      }
    }
    for (var k = 0; k < 8; k++) {
      let e = k * 256 + tid;
      let t = e / ${TILE_PAIRS};
      let j = nt * ${TILE_PAIRS} + e % ${TILE_PAIRS};
      if (t < tokens && j < nr) {
        loads.theta[k] = theta[(bh * L + t0 + t) * nr + j];
      }
    }
    if (tid < tokens) {
      let token = bh * L + t0 + tid;
      loads.dt = dt[token];
      loads.decay = decay[token];
      loads.trap = trap[token];
      if (t0 + tid + 1 < L) {
        loads.dtNext = dt[token + 1];
        loads.trapNext = trap[token + 1];
      }
    }
    return loads;
  }

  fn chunkLocal(bh : i32, chunk : i32, pt : i32, nt : i32, tid : i32, loads : ChunkLoads) -> Block {
    let R = uniforms.rank;
    let L = uniforms.seqLen;
    let nr = uniforms.angles;
    let tw = nr + 3;
    let t0 = chunk * uniforms.tileTokens;
    let tokens = min(uniforms.tileTokens, L - t0);
    let rows = tokens * R;
    // thread t < tokens: AΔ, γ = λΔ and scale = γ + (1−λ_{t+1})Δ_{t+1} of token t (0 past the last token, where
    // the loads are zero)
    let logDecay = loads.decay * loads.dt;
    let gamma = loads.trap * loads.dt;
    let scale = gamma + (1.0 - loads.trapNext) * loads.dtNext;

    // the previous chunk's readers of the shared arrays are done
    workgroupBarrier();
    if (tid < 64) {
      csS[tid] = logDecay;
      scaleS[tid] = scale;
      dtS[tid] = loads.dt;
    }
    workgroupBarrier();
    // angle increments of the tile's pairs: token e/32, pair 32·nt + e%32
    for (var k = 0; k < 8; k++) {
      let e = k * 256 + tid;
      angS[e] = PI * safeTanh(loads.theta[k]) * dtS[e / ${TILE_PAIRS}];
    }
    workgroupBarrier();
    for (var offset = 1; offset < 64; offset *= 2) {
      var add : array<f32, 8>;
      for (var k = 0; k < 8; k++) {
        let e = k * 256 + tid;
        // set on every path: lavapipe did not re-zero a loop-local array on each iteration
        add[k] = 0.0;
        if (e / ${TILE_PAIRS} >= offset) {
          add[k] = angS[e - offset * ${TILE_PAIRS}];
        }
      }
      var addCs = 0.0;
      if (tid < 64 && tid >= offset) {
        addCs = csS[tid - offset];
      }
      workgroupBarrier();
      for (var k = 0; k < 8; k++) {
        let e = k * 256 + tid;
        if (e / ${TILE_PAIRS} >= offset) {
          angS[e] = wrapAngle(angS[e] + add[k]);
        }
      }
      if (tid < 64) {
        csS[tid] += addCs;
      }
      workgroupBarrier();
    }

    if (pt == 0) {
      for (var k = 0; k < 8; k++) {
        let e = k * 256 + tid;
        let t = e / ${TILE_PAIRS};
        let j = nt * ${TILE_PAIRS} + e % ${TILE_PAIRS};
        if (t < tokens && j < nr) {
          result[(bh * L + t0 + t) * tw + j] = angS[e];
        }
      }
      if (nt == 0 && tid < tokens) {
        let at = (bh * L + t0 + tid) * tw + nr;
        result[at] = csS[tid];
        result[at + 1] = gamma;
        result[at + 2] = scale;
      }
    }
    let csEnd = csS[tokens - 1];
    if (tid < 64) {
      var w = 0.0;
      if (tid < rows) {
        let t = tid / R;
        w = exp(csEnd - csS[t]) * scaleS[t];
      }
      wS[tid] = w;
    }
    workgroupBarrier();

    let rg = tid / 16;
    let cg = tid % 16;
    var b : Block;
    for (var half = 0; half < 2; half++) {
      for (var k = 0; k < 2; k++) {
        let slot = half * 2 + k;
        let e = k * 256 + tid;
        let i = half * 32 + e / 16;
        vs[e] = loads.x[slot];
        var kv = loads.k[slot];
        if (i < rows) {
          let t = i / R;
          let jl = (e % 16) * 2;
          let j = nt * ${TILE_PAIRS} + jl;
          kv = vec4<f32>(rotateLocal(kv.xy, t, j, jl), rotateLocal(kv.zw, t, j + 1, jl + 1)) * wS[i];
        }
        ks[e] = kv;
      }
      workgroupBarrier();
      for (var il = 0; il < 32; il++) {
        let v = vs[il * 16 + rg];
        let kv = ks[il * 16 + cg];
        b.r0 += v.x * kv;
        b.r1 += v.y * kv;
        b.r2 += v.z * kv;
        b.r3 += v.w * kv;
      }
      workgroupBarrier();
    }
    return b;
  }

  // a thread's 4×4 block of a P×N state into result from base: rows pt·64 + 4·(tid/16) …, columns nt·64 + 4·(tid%16) …
  fn storeBlock(base : i32, pt : i32, nt : i32, tid : i32, b : Block) {
    let P = uniforms.headDim;
    let N = uniforms.stateDim;
    let p0 = pt * 64 + (tid / 16) * 4;
    let n0 = nt * 64 + (tid % 16) * 4;
    for (var w = 0; w < 4; w++) {
      if (n0 + w < N) {
        if (p0 < P) {
          result[base + p0 * N + n0 + w] = b.r0[w];
        }
        if (p0 + 1 < P) {
          result[base + (p0 + 1) * N + n0 + w] = b.r1[w];
        }
        if (p0 + 2 < P) {
          result[base + (p0 + 2) * N + n0 + w] = b.r2[w];
        }
        if (p0 + 3 < P) {
          result[base + (p0 + 3) * N + n0 + w] = b.r3[w];
        }
      }
    }
  }
`;
