import { philoxUniform, scalarUniforms, type Tensor, tf } from '@tessera/tensor-core';
import { bench, type BenchRow, compare, defineBench, runProgram } from '@tessera/tensor-core/bench';
import { deltaRule } from '../src/delta-rule/index.js';
import { DeltaRuleGroupScanProgram } from '../src/delta-rule/group-scan.program.js';
import { DeltaRuleOutputProgram } from '../src/delta-rule/output.program.js';
import { DeltaRulePrepareProgram } from '../src/delta-rule/prepare.program.js';
import { DeltaRuleStateProgram } from '../src/delta-rule/state.program.js';
import { type ChunkTile, chunkTile, groupSpan } from '../src/delta-rule/tile.js';

/**
 * Where the WGSL chunked delta rule spends its time: each of its passes (prepare, sequential state,
 * output) timed alone on the shapes of the main suite, beside the whole op, and the state pass with
 * `chunkTile`'s tile against a slice twice as wide and against sums unsplit (one thread per output). WebGPU only.
 * On long sequences the op scans the state in groups of chunks (`ChunkTile.groups`): its passes A (transitions),
 * B (group scan) and C (states within groups) are timed alone and together against the single state pass, and
 * the whole scan with half and twice `chunkTile`'s groups, so that one GPU run attributes the gain and checks G.
 */
export default defineBench({
  name: 'delta-rule-passes',
  async run({ size, log }) {
    if (tf.getBackend() !== 'webgpu') {
      log('delta-rule-passes: WebGPU only (it times single WGSL programs)');
      return [];
    }
    const [heads, dk, dv] = size === 'full' ? [8, 64, 64] : [2, 32, 32];
    const lengths = size === 'full' ? [4096, 16384] : [256];
    const rows: BenchRow[] = [];
    for (const l of lengths) {
      const shape = `1x${heads}x${l}x${dk}x${dv}`;
      const q = philoxUniform([1, heads, l, dk], { seed: 1, low: -1, high: 1 });
      const k = tf.tidy(() => {
        const raw = philoxUniform([1, heads, l, dk], { seed: 2, low: -1, high: 1 });
        return tf.div(raw, tf.norm(raw, 'euclidean', -1, true));
      });
      const v = philoxUniform([1, heads, l, dv], { seed: 3, low: -1, high: 1 });
      const beta = philoxUniform([1, heads, l], { seed: 4, low: 0.1, high: 0.9 });
      const state = tf.zeros([1, heads, dk, dv]);
      // the single sequential state pass (groups 1), as the op ran it before the scan
      const tile = { ...chunkTile(heads, dk, dv, 64, l), groups: 1 };
      // a fresh program per call: a reused one would be recompiled every time (see runProgram)
      const prepare = () =>
        runProgram(
          new DeltaRulePrepareProgram(heads, l, dk, dv, tile, false),
          [k, v, beta],
          scalarUniforms('int32', DeltaRulePrepareProgram.uniformValues(l, dk, dv, tile)),
        );
      const wu = prepare();
      const statePass = () =>
        runProgram(
          new DeltaRuleStateProgram(heads, l, dk, dv, tile, false),
          [wu, k, state],
          scalarUniforms('int32', DeltaRuleStateProgram.uniformValues(l, dk, dv, tile)),
        );
      const sv = statePass();
      const output = () =>
        runProgram(
          new DeltaRuleOutputProgram(1, heads, l, dv, tile, false),
          [q, k, sv],
          [
            ...scalarUniforms('int32', DeltaRuleOutputProgram.uniformValues(l, dk, dv, tile)),
            ...scalarUniforms('float32', [1 / Math.sqrt(dk)]),
          ],
        );
      log(`delta-rule passes ${shape} (C=${tile.chunk}, slice=${tile.slice})`);
      // the whole op as it runs (the scan where chunkTile picks groups); the state pass here is the single one
      const whole = await bench('deltaRule', () => deltaRule(q, k, v, beta));
      const single = await bench('state pass', statePass);
      rows.push(compare('deltaRule prepare pass', shape, 'whole op', whole, await bench('prepare pass', prepare)));
      rows.push(compare('deltaRule state pass (single)', shape, 'whole op', whole, single));
      rows.push(compare('deltaRule output pass', shape, 'whole op', whole, await bench('output pass', output)));
      // the sequential state pass is the critical path at long L: chunkTile's tile against twice as wide a slice
      // (half the workgroups walking the chunks side by side; chunkTile aims at 128 of them), and against the
      // 128-thread program whose threads each sum a whole output (split 1)
      const statePassWith = (t: ChunkTile) => () =>
        runProgram(
          new DeltaRuleStateProgram(heads, l, dk, dv, t, false),
          [wu, k, state],
          scalarUniforms('int32', DeltaRuleStateProgram.uniformValues(l, dk, dv, t)),
        );
      const current = single;
      if (tile.slice < 16) {
        const wide = { ...tile, slice: tile.slice * 2 };
        const wider = await bench(`state pass, slice ${wide.slice}`, statePassWith(wide));
        rows.push(compare(`deltaRule state pass, slice ${tile.slice}`, shape, `slice ${wide.slice}`, wider, current));
      }
      if (tile.split > 1) {
        const unsplit = await bench('state pass, split 1', statePassWith({ ...tile, split: 1 }));
        rows.push(compare(`deltaRule state pass, split ${tile.split}`, shape, 'split 1', unsplit, current));
      }
      // the scan: chunkTile's groups at the full size, or 4 where it keeps the single pass (L = 4096: the data that
      // would move SCAN_MIN_CHUNKS); at the quick size (4 chunks) one chunk per group, only so that the passes run
      const scanned = chunkTile(heads, dk, dv, 64, l);
      const groups = size === 'full' && scanned.groups > 1 ? scanned.groups : 4;
      if (groups > 1) {
        const scanTile = (g: number): ChunkTile => ({ ...scanned, groups: groupSpan(Math.ceil(l / scanned.chunk), g).groups });
        const passA = (t: ChunkTile) => () =>
          runProgram(
            new DeltaRuleStateProgram(heads, l, dk, dv, t, false, 'transitions'),
            [wu, k],
            scalarUniforms('int32', DeltaRuleStateProgram.uniformValues(l, dk, dv, t, 'transitions')),
          );
        const passB = (t: ChunkTile, tb: Tensor) => () =>
          runProgram(
            new DeltaRuleGroupScanProgram(heads, dk, dv, t, t.groups),
            [tb, state],
            scalarUniforms('int32', DeltaRuleGroupScanProgram.uniformValues(dv, t, t.groups)),
          );
        const passC = (t: ChunkTile, starts: Tensor) => () =>
          runProgram(
            new DeltaRuleStateProgram(heads, l, dk, dv, t, false),
            [wu, k, starts],
            scalarUniforms('int32', DeltaRuleStateProgram.uniformValues(l, dk, dv, t)),
          );
        const stage = (t: ChunkTile) => () => {
          const tb = passA(t)();
          const starts = passB(t, tb)();
          const out = passC(t, starts)();
          tf.dispose([tb, starts]);
          return out;
        };
        const t = scanTile(groups);
        const tb = passA(t)();
        const starts = passB(t, tb)();
        const label = `G=${t.groups}`;
        log(`  state scan ${label}: ${Math.ceil(l / t.chunk / t.groups)} chunks a group`);
        const scan = await bench(`state scan ${label}`, stage(t));
        rows.push(compare(`deltaRule state scan ${label}`, shape, 'state pass', single, scan));
        for (const [name, fn] of [
          ['A (transitions)', passA(t)],
          ['B (group scan)', passB(t, tb)],
          ['C (states in groups)', passC(t, starts)],
        ] as const) {
          rows.push(compare(`deltaRule state scan ${label}, pass ${name}`, shape, 'state pass', single, await bench(name, fn)));
        }
        tf.dispose([tb, starts]);
        // the cost model's neighbours (tile.ts, scanGroups): half and twice the groups, each a whole scan
        for (const other of size === 'full' ? [Math.floor(groups / 2), groups * 2] : []) {
          const o = scanTile(other);
          if (o.groups < 2 || o.groups === t.groups) continue;
          const alt = await bench(`state scan G=${o.groups}`, stage(o));
          rows.push(compare(`deltaRule state scan ${label}`, shape, `G=${o.groups}`, alt, scan));
        }
      }
      tf.dispose([q, k, v, beta, state, wu, sv]);
    }
    return rows;
  },
});
