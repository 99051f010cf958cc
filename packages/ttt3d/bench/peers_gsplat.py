# gsplat's CUDA 3DGS rasteriser on the GPU machine, on the scenes of bench/rasterize.bench.ts (issue 15): the
# peer our WGSL rasteriser is measured against, on the same card in the same call.
#
# What it does
#   1. Builds gsplat's extension from .peers/gsplat (bench/gsplat/prepare.sh exports it: gsplat main 90d7b4b3,
#      glm at the commit gsplat pins) with torch.utils.cpp_extension, in a child process under a time limit,
#      into GSPLAT_BUILD_DIR (default /tmp/gsplat-build): only the 3DGS kernels (BUILD_3DGS=1; the 2DGS, 3DGUT,
#      Adam, relocation and loss units compile to nothing), the rasteriser instantiated for 3 and 4 channels only
#      (NUM_CHANNELS=3,4; the default is 23 channel counts), one GPU architecture (TORCH_CUDA_ARCH_LIST, default
#      the card's), MAX_JOBS=16 parallel compiles, the heaviest translation units first. gsplat's own compiler
#      flags otherwise (build.py: -O3, --use_fast_math, C++20). One JSON line {"op": "gsplat_build", ...} with
#      the time and the slowest units; a failure prints {"op": "gsplat_build", "ok": false, "err", "errors",
#      "tail"} (the first error lines and the tail of the compiler log) and exits 1.
#   2. Times gsplat.rasterization(...) — projection, SH (degree 3), tile intersection and sort, rasterisation, in
#      gsplat's one fused op — forward alone (no autograd), forward+backward (autograd.grad of
#      sum(image·W) + sum(alpha·Wα), W fixed random), and the backward alone (the graph of one forward replayed,
#      retain_graph: what our "backward" row times, which replays the forward's binning). fp32. One JSON line a
#      figure: {"op": "gsplat_rasterization", "pass": "fwd" | "fwd+bwd" | "bwd", "width", "height", "N", "ms",
#      "iters"}; CUDA-event timing, adaptive iterations (~300 ms a round), the median of 3 rounds, after a
#      warm-up, as packages/sparse-attention/bench/peers_sdpa.py. Once per case, outside the timing: visible
#      Gaussians, intersections, tiles, mean transmittance (rasterize.bench.ts logs the same quantity).
#
# The scenes (rasterize.bench.ts `scene` and `camera`, reproduced bit for bit where it matters)
#   randomGaussians({count: N, shDegree: 3, seed: N, extent: 1.5, logScaleMin: -5, logScaleMax: -3.5}): one
#   Philox-4x32-10 stream (tensor-core's philoxUniform, ported below and checked against it: --scene-check)
#   drawn in order means U[-1.5,1.5]^3, log-scales U[-5,-3.5]^3, quaternions (w,x,y,z) U[-1,1]^4 unnormalised,
#   opacity logits U[-2,3], SH DC U[-1.5,1.5]^3, the 15 higher coefficients U[-0.4,0.4]^3 (sh [N,16,3]).
#   Camera.fromLookAt(eye [0.4,-0.3,-4.5], target 0, up [0,-1,0], fovY 0.9): fx = fy = (h/2)/tan(0.45),
#   cx = w/2, cy = h/2, OpenCV axes, pixel centres at +0.5 — gsplat's conventions too, so viewmat and K go in
#   unchanged. No background (our packed render has none either). Sizes: 256², 1920x1080 (the rows,
#   first), then 512², each with N = 10k, 100k, 1M, then N = 1k; PEERS_CASES=256x256:10000,1920x1080:1000000
#   picks others.
#   Our op takes log-scales and opacity logits; gsplat takes scales and opacities. The timed call applies exp and
#   sigmoid (two elementwise kernels, microseconds) and differentiates with respect to the raw fields (means,
#   quats, log-scales, opacity logits, SH), as gsplat's trainer does.
#
# gsplat's options, set to our rules (packages/ttt3d/src/rasterize/constants.ts)
#   packed=False, tile_size=16, eps2d=0.3 with rasterize_mode="classic" (no opacity compensation),
#   near_plane=0.01, far_plane=1e10, radius_clip=0, sh_degree=3 (colour = max(0, SH + 0.5) in both),
#   render_mode="RGB+D" (4 channels: RGB and accumulated depth, as our packed render's colour and depth; the
#   alpha comes out of both anyway). At this revision gsplat's MAX_ALPHA is 0.99 and its transmittance stop 1e-4,
#   alpha skip 1/255, extent 3.33σ: ours.
# Differences left (they make gsplat do less work than us on the same scene, so its times are a floor):
#   - Opacity-aware extent: gsplat culls a Gaussian with opacity < 1/255 and shrinks its radius to
#     min(3.33, sqrt(2 ln(255·o)))σ (for our opacities, sigmoid of U[-2,3]: 2.6σ–3.3σ); ours is 3.33σ for all.
#   - AccuTile/SnugBox: gsplat intersects tiles with the ellipse's tight box at that level; ours with the
#     axis-aligned ceil(3.33·sqrt(Σ_axis)) rectangle. The "isects" field gives gsplat's count; compare with
#     ours (rasterAttrs capacity, or the WGSL path's count) before reading the times as like for like.
#   - gsplat sorts by (tile, depth) in one 64-bit radix sort per call (its isect_ids); ours sorts depth once per
#     Gaussian and tiles stably. Same order except depth ties (ours by index).
#   - The backward: gsplat sums per-Gaussian gradients with float atomics (non-deterministic); ours reduces
#     per-intersection partials (deterministic).
#   - fp32 throughout in both; gsplat is built with --use_fast_math (its default), WGSL has no such switch.
#
# Wall-clock guard: PEERS_DEADLINE (seconds since the epoch, optional; default start + 480 s) bounds the whole
# script, build included: the build is killed 90 s before it (its progress — units done, the slowest — is still
# printed), and a case or pass is skipped ({"skipped": ...}) when less than 60 s remain.
#
# On the device, from the repo root (carry .peers/gsplat; .peers/gsplat-whl only if the image lacks a package):
#   PYTHONUNBUFFERED=1 python3 packages/ttt3d/bench/peers_gsplat.py | tee $OUT/peers-gsplat.jsonl
# Here, without a GPU (torch on CPU): python3 packages/ttt3d/bench/peers_gsplat.py --scene-check
import json, math, os, re, signal, subprocess, sys, time, traceback, types

T0 = time.time()
DEADLINE = float(os.environ.get('PEERS_DEADLINE') or T0 + 480)
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
GSPLAT_DIR = os.environ.get('GSPLAT_DIR', os.path.join(ROOT, '.peers', 'gsplat'))
BUILD_DIR = os.environ.get('GSPLAT_BUILD_DIR', '/tmp/gsplat-build')
NAME = 'gsplat_cuda'
# the device image has every package gsplat imports; unpacked fallback wheels go last on the path
if os.environ.get('GSPLAT_WHEEL_SITE'): sys.path.append(os.environ['GSPLAT_WHEEL_SITE'])

def out(**kw): print(json.dumps(kw), flush=True)
def left(): return DEADLINE - time.time()

def cuda_home():
    """CUDA_HOME for torch.utils.cpp_extension, which reads it once, at its import: unset, torch takes the folder
    above `which nvcc`, and a wrapper script at /usr/local/bin/nvcc (as on this workplace's machines) makes that
    /usr/local — no cuda_runtime.h for the C++ units, no libcudart to link."""
    import shutil
    if os.environ.get('CUDA_HOME') or os.environ.get('CUDA_PATH'):
        return os.environ.get('CUDA_HOME') or os.environ.get('CUDA_PATH')
    candidates = ['/usr/local/cuda']
    nvcc = shutil.which('nvcc')
    if nvcc: candidates.append(os.path.dirname(os.path.dirname(os.path.realpath(nvcc))))
    for c in candidates:
        if os.path.isfile(os.path.join(c, 'bin', 'nvcc')) and os.path.isfile(os.path.join(c, 'include', 'cuda_runtime.h')):
            os.environ['CUDA_HOME'] = c
            return c
    return None

# ---------------------------------------------------------------------------------------------- the scenes

M0, M1, W0, W1, MASK = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85, 0xFFFFFFFF

def _mulhilo(a, b):
    """High and low 32-bit words of a·b, a a Python uint32, b an int64 tensor of uint32 (16-bit limbs: no overflow)."""
    al, ah = a & 0xFFFF, a >> 16
    bl, bh = b & 0xFFFF, b >> 16
    ll, hl, lh, hh = bl * al, bl * ah, bh * al, bh * ah
    cross = (ll >> 16) + (hl & 0xFFFF) + (lh & 0xFFFF)
    hi = (hh + (hl >> 16) + (lh >> 16) + (cross >> 16)) & MASK
    lo = (((hl + lh) << 16) + ll) & MASK
    return hi, lo

def philox_uniform(n, seed, offset, device):
    """tensor-core's philoxUniformArray: float32 [n], stream positions offset…offset+n−1 under `seed`."""
    import torch
    first, last = offset // 4, (offset + n - 1) // 4
    block = torch.arange(first, last + 1, dtype=torch.int64, device=device)
    c0, c1 = block & MASK, block >> 32
    c2 = torch.zeros_like(c0); c3 = torch.zeros_like(c0)
    k0, k1 = seed & MASK, (seed >> 32) & MASK
    for r in range(10):
        if r > 0: k0, k1 = (k0 + W0) & MASK, (k1 + W1) & MASK
        hi0, lo0 = _mulhilo(M0, c0)
        hi1, lo1 = _mulhilo(M1, c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    words = torch.stack((c0, c1, c2, c3), dim=1).reshape(-1)[offset - 4 * first: offset - 4 * first + n]
    return (words >> 8).to(torch.float32) * (1.0 / 16777216)

def random_gaussians(n, device, sh_degree=3, extent=1.5, log_scale_min=-5.0, log_scale_max=-3.5):
    """test/cases.ts randomGaussians with rasterize.bench.ts' options (seed = count): the same float32 values."""
    import torch
    k = (sh_degree + 1) ** 2
    pos = [0]
    def draw(shape, low, high):
        size = math.prod(shape)
        u = philox_uniform(size, n, pos[0], device).reshape(shape)
        pos[0] += size
        return u * (high - low) + low  # tf.add(tf.mul(u, high − low), low), float32
    means = draw([n, 3], -extent, extent)
    log_scales = draw([n, 3], log_scale_min, log_scale_max)
    quats = draw([n, 4], -1.0, 1.0)
    opacity_logits = draw([n], -2.0, 3.0)
    dc = draw([n, 1, 3], -1.5, 1.5)
    sh = dc if k == 1 else torch.cat([dc, draw([n, k - 1, 3], -0.4, 0.4)], 1)
    return dict(means=means, quats=quats, log_scales=log_scales, opacity_logits=opacity_logits, sh=sh)

def look_at_camera(width, height, device, eye=(0.4, -0.3, -4.5), target=(0.0, 0.0, 0.0), up=(0.0, -1.0, 0.0), fov_y=0.9):
    """Camera.fromLookAt as rasterize.bench.ts calls it → viewmat [4, 4] (world to camera, float32) and K [3, 3]."""
    import torch
    def sub(a, b): return [a[i] - b[i] for i in range(3)]
    def dot(a, b): return sum(a[i] * b[i] for i in range(3))
    def cross(a, b): return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    def normalize(a): s = math.sqrt(dot(a, a)); return [x / s for x in a]
    forward = normalize(sub(target, eye))
    right = normalize(cross(forward, up))
    down = cross(forward, right)
    m = [[*row, -dot(row, eye)] for row in (right, down, forward)] + [[0.0, 0.0, 0.0, 1.0]]
    fy = height / 2 / math.tan(fov_y / 2)
    K = [[fy, 0.0, width / 2], [0.0, fy, height / 2], [0.0, 0.0, 1.0]]
    return torch.tensor(m, dtype=torch.float32, device=device), torch.tensor(K, dtype=torch.float32, device=device)

def scene_check():
    """No GPU needed: the Philox port against tensor-core's values, a tiny scene, the camera, and `import gsplat`."""
    import torch
    # node: philoxUniformArray(10, 10000, 0) and (7, 1000000, 30000003), from packages/tensor-core/src/philox/philox.ts
    expect = {(10, 10000, 0): [0.05269050598144531, 0.3195629119873047, 0.5199886560440063, 0.6333441138267517,
                               0.3812783360481262, 0.6423568725585938, 0.28481143712997437, 0.6898934245109558,
                               0.42031729221343994, 0.364490807056427],
              (7, 1000000, 30000003): [0.7061538696289062, 0.49053245782852173, 0.5581546425819397, 0.5966557860374451,
                                       0.6823577880859375, 0.2816274166107178, 0.7635364532470703]}
    for (n, seed, offset), want in expect.items():
        got = philox_uniform(n, seed, offset, 'cpu').tolist()
        assert got == want, (n, seed, offset, got, want)
    g = random_gaussians(16, 'cpu')
    out(check='scene', shapes={k: list(v.shape) for k, v in g.items()},
        ranges={k: [round(v.min().item(), 4), round(v.max().item(), 4)] for k, v in g.items()},
        means0=g['means'][0].tolist())
    view, K = look_at_camera(256, 256, 'cpu')
    R = view[:3, :3]
    assert torch.allclose(R @ R.T, torch.eye(3), atol=1e-6) and abs(torch.det(R).item() - 1) < 1e-5
    centre = -(R.T @ view[:3, 3])
    out(check='camera', viewmat=view.tolist(), K=K.tolist(), centre=centre.tolist())
    # the 1M-Gaussian draw's size, to know what the GPU allocates (int64 words: 8 bytes × ~5 temporaries)
    out(check='philox', ok=True, draws_1M=1_000_000 * (3 + 3 + 4 + 1 + 48))
    if os.path.isdir(os.path.join(GSPLAT_DIR, 'gsplat')):
        install_backend(None)
        import gsplat
        out(check='import gsplat', ok=True, version=gsplat.__version__, file=gsplat.__file__)

# ---------------------------------------------------------------------------------------------- the build

def arch_list():
    import torch
    if torch.cuda.is_available():
        major, minor = torch.cuda.get_device_capability()
        return f'{major}.{minor}'
    return '9.0'

def build_env():
    cuda_home()
    os.environ.setdefault('BUILD_3DGS', '1')  # Config.h: naming one module builds only the modules named
    os.environ.setdefault('NUM_CHANNELS', '3,4')  # RGB, and RGB + depth (render_mode "RGB+D")
    os.environ.setdefault('MAX_JOBS', '16')
    os.environ.setdefault('TORCH_CUDA_ARCH_LIST', arch_list())

def load_build_script():
    """gsplat/cuda/build.py as a standalone module: importing it as gsplat.cuda.build would run gsplat/__init__,
    whose import loads the extension (and JIT-builds it with everything in it)."""
    import importlib.util
    path = os.path.join(GSPLAT_DIR, 'gsplat', 'cuda', 'build.py')
    spec = importlib.util.spec_from_file_location('_gsplat_build_py', path)
    b = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(b)
    return b

def compiled_out(path):
    """True where the unit's first directive after its includes is an `#if GSPLAT_BUILD_X` that 3DGS does not
    enable (it then compiles to nothing but its includes)."""
    if os.path.basename(path) == 'ext.cpp': return False
    for line in open(path, errors='replace'):
        t = line.strip()
        if not t or t.startswith(('//', '/*', '*', '#include', '#pragma')): continue
        m = re.match(r'#\s*if\b(.*)', t)
        return bool(m) and 'GSPLAT_BUILD_' in m.group(1) and not re.search(r'GSPLAT_BUILD_3DGS\b', m.group(1))
    return False

def build_params():
    build_env()
    b = load_build_script()
    p = b.get_build_parameters()
    # ninja starts the units in build.ninja's order: the heaviest first, so that the last wave is of light ones
    sources = sorted(p.sources, key=lambda s: (compiled_out(s), not s.endswith('.cu'), -os.path.getsize(s)))
    return dict(name=p.name, sources=sources, extra_cflags=p.extra_cflags,
                extra_cuda_cflags=b.format_jit_cuda_cflags(p.extra_cuda_cflags),
                extra_include_paths=p.extra_include_paths, extra_ldflags=p.extra_ldflags)

def load_extension():
    import torch.utils.cpp_extension as jit
    os.makedirs(BUILD_DIR, exist_ok=True)
    try: os.remove(os.path.join(BUILD_DIR, 'lock'))  # a killed build leaves it, and the next would wait on it
    except OSError: pass
    return jit.load(build_directory=BUILD_DIR, verbose=False, **build_params())

def ninja_units():
    """(unit, seconds) of every unit ninja finished, from its log (v5+: start ms, end ms, mtime, output, hash)."""
    units = {}
    try:
        for line in open(os.path.join(BUILD_DIR, '.ninja_log')):
            f = line.rstrip('\n').split('\t')
            if len(f) >= 4 and f[0].isdigit(): units[f[3]] = (int(f[1]) - int(f[0])) / 1000
    except OSError: pass
    return sorted(units.items(), key=lambda kv: -kv[1])

def build_child():
    """--build-only: build and import the extension in this process; the parent times and bounds it."""
    try:
        mod = load_extension()
        out(child='built', ok=True, build_config=dict(mod.build_config()) if hasattr(mod, 'build_config') else None)
    except Exception as e:
        msg = str(e)
        errors = [l for l in msg.splitlines() if re.search(r'error|undefined|FAILED', l)][:20]
        out(child='failed', ok=False, err=repr(e)[:300], errors=errors, tail=msg[-4000:])
        sys.exit(1)

def build():
    import torch
    params = build_params()
    info = dict(op='gsplat_build', sources=len(params['sources']), jobs=os.environ['MAX_JOBS'], cuda_home=os.environ.get('CUDA_HOME'),
                arch=os.environ['TORCH_CUDA_ARCH_LIST'], build_3dgs=os.environ['BUILD_3DGS'],
                num_channels=os.environ['NUM_CHANNELS'], build_dir=BUILD_DIR, torch=torch.__version__)
    try: info['revision'] = open(os.path.join(GSPLAT_DIR, 'REVISION')).read().split()
    except OSError: pass
    try: info['nvcc'] = subprocess.run(['nvcc', '--version'], capture_output=True, text=True).stdout.strip().splitlines()[-1]
    except Exception: pass
    limit = max(30.0, left() - 90)
    t = time.time()
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), '--build-only'], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        text, _ = child.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)  # the child, ninja and every nvcc it started
        child.communicate()
        units = ninja_units()
        out(**info, ok=False, err=f'build killed after {limit:.0f} s (PEERS_DEADLINE)', done=len(units),
            slowest=[[u, s] for u, s in units[:10]])
        sys.exit(1)
    s = round(time.time() - t, 1)
    units = ninja_units()
    lines = [l for l in text.splitlines() if l.startswith('{')]
    result = json.loads(lines[-1]) if lines else {}
    if child.returncode != 0 or not result.get('ok'):
        out(**info, ok=False, s=s, err=result.get('err') or f'child exited {child.returncode}',
            errors=result.get('errors'), tail=result.get('tail') or text[-4000:], done=len(units))
        sys.exit(1)
    out(**info, ok=True, s=s, units=len(units), unit_s_sum=round(sum(v for _, v in units), 1),
        slowest=[[u, v] for u, v in units[:8]], build_config=result.get('build_config'))
    t = time.time()
    mod = load_extension()  # ninja finds nothing to do; this imports the module here
    out(op='gsplat_load', ok=True, s=round(time.time() - t, 1))
    return mod

def install_backend(mod):
    """Makes `import gsplat` use `mod` (None: no extension) instead of its _backend.py, which would JIT-build."""
    sys.path.insert(0, GSPLAT_DIR)
    if mod is not None: sys.modules['gsplat.csrc'] = mod
    backend = types.ModuleType('gsplat.cuda._backend')
    backend._C = mod
    backend.__all__ = ['_C']
    sys.modules['gsplat.cuda._backend'] = backend

# ---------------------------------------------------------------------------------------------- the timing

def bench(fn, rounds=3, target_ms=300.0, max_iters=200):
    """Median ms per call over `rounds` rounds of back-to-back calls (one sync per round), after a warm-up."""
    import torch
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

def cases():
    spec = os.environ.get('PEERS_CASES')
    if spec:
        pairs = [c.split(':') for c in spec.split(',') if c]
        return [(int(wh.split('x')[0]), int(wh.split('x')[1]), int(n)) for wh, n in pairs]
    first = [(256, 256, n) for n in (10_000, 100_000, 1_000_000)] + [(1920, 1080, n) for n in (10_000, 100_000, 1_000_000)]
    then = [(512, 512, n) for n in (10_000, 100_000, 1_000_000)] + [(w, h, 1000) for w, h in ((256, 256), (512, 512), (1920, 1080))]
    return first + then

def run_cases():
    import torch
    from gsplat import rasterization
    dev = 'cuda'
    render_mode = os.environ.get('PEERS_RENDER_MODE', 'RGB+D')
    opts = dict(near_plane=0.01, far_plane=1e10, radius_clip=0.0, eps2d=0.3, sh_degree=3, packed=False,
                tile_size=16, backgrounds=None, render_mode=render_mode, rasterize_mode='classic',
                sparse_grad=False, absgrad=False)
    out(options={k: v for k, v in opts.items() if k != 'backgrounds'})
    for width, height, n in cases():
        fields = dict(op='gsplat_rasterization', width=width, height=height, N=n)
        if left() < 60:
            out(**fields, skipped=f'{left():.0f} s left before PEERS_DEADLINE'); continue
        try:
            t = time.time()
            g = random_gaussians(n, dev)
            view, K = look_at_camera(width, height, dev)
            viewmats, Ks = view[None], K[None]
            params = [g['means'], g['quats'], g['log_scales'], g['opacity_logits'], g['sh']]
            gen = torch.Generator(device=dev); gen.manual_seed(0)
            channels = 4 if render_mode.endswith('D') else 3
            w_image = torch.rand(1, height, width, channels, device=dev, generator=gen)
            w_alpha = torch.rand(1, height, width, 1, device=dev, generator=gen)
            def render(means, quats, log_scales, opacity_logits, sh):
                return rasterization(means, quats, torch.exp(log_scales), torch.sigmoid(opacity_logits), sh,
                                     viewmats, Ks, width, height, **opts)
            with torch.no_grad():
                image, alpha, meta = render(*params)
                torch.cuda.synchronize()
                stats = dict(visible=int((meta['radii'] > 0).all(-1).sum().item()),
                             isects=int(meta['isect_ids'].numel()),
                             tiles=int(meta['tile_width']) * int(meta['tile_height']),
                             mean_transmittance=round(1 - alpha.mean().item(), 4),
                             image_shape=list(image.shape), setup_s=round(time.time() - t, 2))
            out(**fields, **stats)
            del image, alpha, meta
        except Exception as e:
            out(**fields, ok=False, err=repr(e)[:400]); traceback.print_exc(); torch.cuda.empty_cache(); continue

        def forward():
            with torch.no_grad(): return render(*params)
        leaves = [p.detach().requires_grad_(True) for p in params]
        def forward_backward():
            image, alpha, _ = render(*leaves)
            return torch.autograd.grad((image, alpha), leaves, (w_image, w_alpha))
        kept = {}
        def backward():
            if 'out' not in kept:
                image, alpha, _ = render(*leaves)
                kept['out'] = (image, alpha)
            return torch.autograd.grad(kept['out'], leaves, (w_image, w_alpha), retain_graph=True)
        for name, fn in (('fwd', forward), ('fwd+bwd', forward_backward), ('bwd', backward)):
            if left() < 60:
                out(**fields, **{'pass': name}, skipped=f'{left():.0f} s left before PEERS_DEADLINE'); continue
            try:
                ms, iters = bench(fn)
                out(**fields, **{'pass': name}, ms=round(ms, 4), iters=iters)
            except Exception as e:
                out(**fields, **{'pass': name}, ok=False, err=repr(e)[:400]); traceback.print_exc()
        kept.clear(); del leaves, params, g, w_image, w_alpha
        torch.cuda.empty_cache()

def main():
    cuda_home()  # before anything imports torch.utils.cpp_extension
    if '--scene-check' in sys.argv: return scene_check()
    if '--build-only' in sys.argv: return build_child()
    import torch
    out(gpu=torch.cuda.get_device_name() if torch.cuda.is_available() else None, torch=torch.__version__,
        cuda=torch.version.cuda, python=sys.version.split()[0], deadline_s=round(left()))
    if not torch.cuda.is_available():
        out(ok=False, err='no CUDA device'); sys.exit(1)
    mod = build()
    install_backend(mod)
    try:
        import gsplat
        out(op='gsplat_import', ok=True, version=gsplat.__version__, has_3dgs=gsplat.has_3dgs())
    except Exception as e:
        out(op='gsplat_import', ok=False, err=repr(e)[:400]); traceback.print_exc(); sys.exit(1)
    run_cases()
    out(done=True, total_s=round(time.time() - T0, 1))

if __name__ == '__main__':
    main()
