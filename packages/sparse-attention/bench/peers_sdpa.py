# Attention peers on the GPU machine, for the shapes of this package's full-size bench (issue 11,
# Performance): B=1, H=8, D=64, L in {4096, 16384, 65536}.
#   sdpa: PyTorch scaled_dot_product_attention, dense, fp32 and bf16, forward and forward+backward, with
#         the backend PyTorch picks ("default") and each fused backend forced (flash, efficient, cudnn;
#         an unsupported one records its error). The math backend is left out: it materialises
#         B*H*L^2 scores (137 GB in fp32 at L=65536).
#   flex: FlexAttention (torch.compile'd flex_attention) with a random block mask at sparsity
#         0/50/90/95% (blocks kept with probability 1 - sparsity, plus the block on the diagonal, as
#         bench/attention.bench.ts's randomMask), 128x64 blocks as ours, falling back to 128x128 if this
#         torch refuses them; fp32 and bf16, forward and forward+backward. Skipped where
#         torch.nn.attention.flex_attention does not exist.
# Copied from ../../../../shared/gpu/peers.py (its JSON lines and CUDA-event timing, here with adaptive
# iterations and the median of 3 rounds as the Tessera harness reports), sections replaced.
# One JSON line per figure: {"op", "pass", "B", "H", "L", "d", "dtype", "ms", "tflops", ...}; a case that
# fails writes {"ok": false, "err": ...} instead of "ms" and the others still run.
#   python3 packages/sparse-attention/bench/peers_sdpa.py [sdpa] [flex] | tee $OUT/peers-sdpa.jsonl
# PEERS_L=4096,16384 narrows the lengths, PEERS_DTYPES=bf16 the dtypes (flex compiles one graph per length,
# dtype and grad mode, tens of seconds each).
import json, math, os, sys, time, traceback
import torch
import torch.nn.functional as F

dev = 'cuda'
B, H, D = 1, 8, 64
LENGTHS = [int(x) for x in os.environ.get('PEERS_L', '4096,16384,65536').split(',')]
SPARSITIES = (0.0, 0.5, 0.9, 0.95)
DTYPES = {name: {'fp32': torch.float32, 'bf16': torch.bfloat16}[name] for name in os.environ.get('PEERS_DTYPES', 'fp32,bf16').split(',')}

def out(**kw): print(json.dumps(kw), flush=True)

def bench(fn, rounds=3, target_ms=300.0, max_iters=200):
    """Median ms per call over `rounds` rounds of back-to-back calls (one sync per round), after a warm-up."""
    fn()
    torch.cuda.synchronize()
    t = time.perf_counter(); fn(); torch.cuda.synchronize()
    one = (time.perf_counter() - t) * 1e3
    iters = max(1, min(max_iters, int(target_ms / max(one, 1e-3))))
    times = []
    for _ in range(rounds):
        s = torch.cuda.Event(enable_timing=True); e = torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(iters): fn()
        e.record(); torch.cuda.synchronize()
        times.append(s.elapsed_time(e) / iters)
    return sorted(times)[len(times) // 2], iters

def flops(L, density=1.0, backward=False):
    # 4*L^2*D per head (QK^T and PV), x3.5 with the backward: the convention of attention.bench.ts
    return 4 * B * H * L * L * D * density * (3.5 if backward else 1.0)

def case(fields, fn, L, density=1.0, backward=False):
    try:
        ms, iters = bench(fn)
        out(**fields, ms=round(ms, 4), iters=iters, tflops=round(flops(L, density, backward) / ms / 1e9, 2))
    except Exception as e:
        out(**fields, ok=False, err=repr(e)[:300])
    finally:
        torch.cuda.empty_cache()

def section(name, f):
    t = time.time()
    try: f(); out(section=name, ok=True, s=round(time.time() - t, 1))
    except Exception as e: out(section=name, ok=False, err=repr(e)[:300]); traceback.print_exc()

def inputs(L, dtype, seed=0):
    g = torch.Generator(device=dev); g.manual_seed(seed)
    q, k, v, w = (torch.rand(B, H, L, D, device=dev, generator=g, dtype=torch.float32).mul_(2).sub_(1).to(dtype) for _ in range(4))
    for t in (q, k, v): t.requires_grad_(True)
    return q, k, v, w

def forward_backward(attend, q, k, v, w):
    # the output's cotangent is given, as in attention.bench.ts; autograd.grad does not accumulate .grad
    def run():
        o = attend(q, k, v)
        return torch.autograd.grad(o, (q, k, v), w)
    return run

out(gpu=torch.cuda.get_device_name(), torch=torch.__version__,
    matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32, cudnn_allow_tf32=torch.backends.cudnn.allow_tf32)

def sdpa():
    from torch.nn.attention import SDPBackend, sdpa_kernel
    forced = {'flash': SDPBackend.FLASH_ATTENTION, 'efficient': SDPBackend.EFFICIENT_ATTENTION}
    if hasattr(SDPBackend, 'CUDNN_ATTENTION'): forced['cudnn'] = SDPBackend.CUDNN_ATTENTION
    for L in LENGTHS:
        for dname, dtype in DTYPES.items():
            q, k, v, w = inputs(L, dtype)
            for backend in ('default', *forced):
                def attend(a, b, c, backend=backend):
                    if backend == 'default': return F.scaled_dot_product_attention(a, b, c)
                    with sdpa_kernel(forced[backend]): return F.scaled_dot_product_attention(a, b, c)
                fields = dict(op='torch_sdpa', backend=backend, B=B, H=H, L=L, d=D, dtype=dname)
                with torch.no_grad():
                    case({**fields, 'pass': 'fwd'}, lambda: attend(q, k, v), L)
                case({**fields, 'pass': 'fwd+bwd'}, forward_backward(attend, q, k, v, w), L, backward=True)
            q = k = v = w = None  # free before the next length
            torch.cuda.empty_cache()

def random_block_mask(L, bq, bk, sparsity, seed):
    """Dense keep [B, H, Nq, Nk]: kept with probability 1 - sparsity, plus the diagonal block (no empty rows)."""
    nq, nk = math.ceil(L / bq), math.ceil(L / bk)
    g = torch.Generator(device=dev); g.manual_seed(seed)
    keep = torch.rand(B, H, nq, nk, device=dev, generator=g) < 1 - sparsity
    diagonal = (torch.arange(nq, device=dev)[:, None] * bq // bk) == torch.arange(nk, device=dev)[None, :]
    return keep | diagonal

def flex_mask(dense, L, bq, bk):
    from torch.nn.attention.flex_attention import BlockMask
    num = dense.sum(-1, dtype=torch.int32)
    idx = torch.argsort(dense.to(torch.int32), dim=-1, descending=True, stable=True).to(torch.int32)
    # every kept block is full (no mask_mod inside it): FlexAttention's fastest path
    partial = torch.zeros_like(num)
    try:
        return BlockMask.from_kv_blocks(partial, idx, num, idx, BLOCK_SIZE=(bq, bk), seq_lengths=(L, L))
    except TypeError:  # a torch without seq_lengths
        return BlockMask.from_kv_blocks(partial, idx, num, idx, BLOCK_SIZE=(bq, bk))

def flex():
    from torch.nn.attention import flex_attention as fa_module
    # one compiled graph per length, dtype and grad mode (12): above dynamo's default cache of 8 the rest
    # would silently run uncompiled (and out of memory)
    import torch._dynamo
    torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 64)
    if hasattr(torch._dynamo.config, 'accumulated_cache_size_limit'):
        torch._dynamo.config.accumulated_cache_size_limit = max(torch._dynamo.config.accumulated_cache_size_limit, 256)
    compiled = torch.compile(fa_module.flex_attention, dynamic=False)
    for L in LENGTHS:
        for dname, dtype in DTYPES.items():
            q, k, v, w = inputs(L, dtype)
            blocks = [(128, 64), (128, 128)]
            for s in SPARSITIES:
                for bq, bk in list(blocks):
                    dense = random_block_mask(L, bq, bk, s, seed=10 + L)
                    density = dense.float().mean().item()
                    fields = dict(op='torch_flex_attention', B=B, H=H, L=L, d=D, dtype=dname, sparsity=s,
                                  achieved=round(1 - density, 4), block=[bq, bk])
                    try:
                        mask = flex_mask(dense, L, bq, bk)
                        attend = lambda a, b, c, mask=mask: compiled(a, b, c, block_mask=mask)
                        t = time.time()
                        with torch.no_grad(): attend(q, k, v)
                        torch.cuda.synchronize()
                        out(**fields, event='first call (compile)', s=round(time.time() - t, 1))
                    except Exception as e:
                        out(**fields, ok=False, err=repr(e)[:300])
                        # a torch that refuses 128x64 blocks: use 128x128 from here on
                        if (bq, bk) == (128, 64) and len(blocks) > 1: blocks.pop(0); continue
                        break
                    with torch.no_grad():
                        case({**fields, 'pass': 'fwd'}, lambda: attend(q, k, v), L, density)
                    case({**fields, 'pass': 'fwd+bwd'}, forward_backward(attend, q, k, v, w), L, density, backward=True)
                    break
            q = k = v = w = None  # free before the next length
            torch.cuda.empty_cache()

have_flex = False
try:
    import torch.nn.attention.flex_attention  # noqa: F401
    have_flex = True
except Exception as e:
    out(section='flex', ok=False, err='torch.nn.attention.flex_attention unavailable: ' + repr(e)[:200])

for name, f in (('sdpa', sdpa), ('flex', flex)):
    if name == 'flex' and not have_flex: continue
    if len(sys.argv) < 2 or name in sys.argv[1:]: section(name, f)
