/**
 * The SIMD row pass of `selectTopK` (top-candidates.ts) as WebAssembly text, assembled at load by wat.ts:
 * `collect(row, n, floor, ids, xs)` writes, in increasing id, the id and the value of every float32 of
 * `row[0, n)` that is ≥ `floor` (NaN never is) to `ids` and `xs`, and returns how many, or −1 when the
 * row holds a NaN. Addresses are byte offsets in the imported memory, which holds at 0 the compaction
 * table (`COMPACTION_TABLE_BYTES`, written by collect.ts) and ≥ 12 readable bytes after the row.
 *
 * Four values a step: one comparison of the four against the floor (f32x4.ge), its 4-bit mask
 * (i32x4.bitmask) picks the byte shuffle that moves the passing lanes to the front (i8x16.swizzle with
 * table entry `mask`), the four ids and the four values are stored shuffled, and the outputs advance by
 * the mask's popcount: no branch on the data, and the candidates' values come out with their ids (the
 * JS pass gathered them after). The lanes past the end of the row are masked off in one last step.
 *
 * The same bytes as `wat2wasm` 1.0.32 of this text (checked when wabt was at hand, 2026-12).
 */
export const COLLECT_WAT = `
(module
  (import "env" "memory" (memory 1))
  (func (export "collect") (param $row i32) (param $n i32) (param $floor f32) (param $ids i32) (param $xs i32) (result i32)
    (local $end i32) (local $mask i32) (local $step i32) (local $first i32) (local $lanes i32)
    (local $v v128) (local $id v128) (local $nan v128) (local $floors v128) (local $four v128) (local $order v128)
    local.get $ids
    local.set $first
    local.get $floor
    f32x4.splat
    local.set $floors
    i32.const 4
    i32x4.splat
    local.set $four
    v128.const i32x4 0 1 2 3
    local.set $id
    ;; the address after the row's last whole vector
    local.get $row
    local.get $n
    i32.const -4
    i32.and
    i32.const 2
    i32.shl
    i32.add
    local.set $end
    block $whole
      local.get $row
      local.get $end
      i32.ge_u
      br_if $whole
      loop $next
        local.get $row
        v128.load align=4
        local.set $v
        ;; a NaN lane is unequal to itself
        local.get $nan
        local.get $v
        local.get $v
        f32x4.ne
        v128.or
        local.set $nan
        local.get $v
        local.get $floors
        f32x4.ge
        i32x4.bitmask
        local.set $mask
        ;; the byte shuffle that moves the passing lanes to the front: table entry $mask
        local.get $mask
        i32.const 4
        i32.shl
        v128.load
        local.set $order
        local.get $ids
        local.get $id
        local.get $order
        i8x16.swizzle
        v128.store align=4
        local.get $xs
        local.get $v
        local.get $order
        i8x16.swizzle
        v128.store align=4
        local.get $mask
        i32.popcnt
        i32.const 2
        i32.shl
        local.set $step
        local.get $ids
        local.get $step
        i32.add
        local.set $ids
        local.get $xs
        local.get $step
        i32.add
        local.set $xs
        local.get $id
        local.get $four
        i32x4.add
        local.set $id
        local.get $row
        i32.const 16
        i32.add
        local.tee $row
        local.get $end
        i32.lt_u
        br_if $next
      end
    end
    ;; the last n mod 4 values: one more vector, the lanes past the row masked off
    i32.const 1
    local.get $n
    i32.const 3
    i32.and
    i32.shl
    i32.const 1
    i32.sub
    local.tee $lanes
    if
      local.get $row
      v128.load align=4
      local.set $v
      local.get $v
      local.get $v
      f32x4.ne
      i32x4.bitmask
      local.get $lanes
      i32.and
      if
        i32.const -1
        return
      end
      local.get $v
      local.get $floors
      f32x4.ge
      i32x4.bitmask
      local.get $lanes
      i32.and
      local.tee $mask
      i32.const 4
      i32.shl
      v128.load
      local.set $order
      local.get $ids
      local.get $id
      local.get $order
      i8x16.swizzle
      v128.store align=4
      local.get $xs
      local.get $v
      local.get $order
      i8x16.swizzle
      v128.store align=4
      local.get $ids
      local.get $mask
      i32.popcnt
      i32.const 2
      i32.shl
      i32.add
      local.set $ids
    end
    local.get $nan
    v128.any_true
    if
      i32.const -1
      return
    end
    local.get $ids
    local.get $first
    i32.sub
    i32.const 2
    i32.shr_u
  )
)
`;
