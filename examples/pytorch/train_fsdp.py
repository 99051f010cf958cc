"""Trains a small fla GatedDeltaNet (or DeltaNet) byte-level LM with PyTorch FSDP on the demo's Brown corpus; saves it in
fla's HF layout.

    torchrun --standalone --nproc_per_node=N examples/pytorch/train_fsdp.py \
        --data .peers/corpus --out runs/gdn-brown --max-seconds 300

On Hopper (H100/H200) with 3.4.0 <= Triton < 3.7.1 (torch 2.8 to 2.11 pin those) and no tilelang, fla refuses
GatedDeltaNet's backward: Triton miscompiles its gated chunk_bwd_dqkwg kernel there (fla issue #640, fixed in Triton
3.7.1; fla/ops/common/chunk_o.py raises rather than train on wrong dq/dk/dg). No fla flag or environment variable
gets round it (FLA_TILELANG / FLA_DISABLE_BACKEND_DISPATCH only choose between tilelang and that kernel), and fla's
fused_recurrent mode has no backward. `--model delta_net` trains fla's DeltaNet instead: the same family and sizes
without the decay gate, whose chunk backward calls that kernel with g=None (not the miscompiled path; fla runs its
other Hopper-affected kernel, prepare_wy_repr_bwd #984, with num_warps=2 since 595682b8); on an H100 with Triton
3.6 its chunk gradients were within 7e-3 (relative, bf16 inputs) of a float32 recurrence. Tessera loads either
checkpoint (loadCausalLM). This script checks for that combination first and stops with this advice.

Any N >= 1 (plain `python3 train_fsdp.py ...` is a world of one). FSDP2 (`fully_shard`, one unit per block plus the
root) where this torch has it, else FSDP1 (`FullyShardedDataParallel`, the same units). Parameters and optimizer state
stay float32 and sharded; matmuls run under bf16 autocast (fla's chunk kernels are bf16). AdamW with linear warm-up
and cosine decay over --steps; training stops early, on every rank at the same step, once --max-seconds have passed.

Writes into --out (rank 0, each file to a temporary name first, then renamed):
  config.json        fla's GatedDeltaNetConfig (`config.to_json_string(use_diff=False)`): transformers 5.17's
                     save_pretrained fails on fla's list-valued _tied_weights_keys, so this script writes the layout
  model.safetensors  the gathered full state dict in float32, by fla's state_dict names
  train_log.json     the loss curve (train loss every --log-every steps, held-out loss and bits per byte every
                     --eval-every steps), the config, the arguments, the world size, the FSDP flavour and timings

Data: brown-train.txt / brown-heldout.txt from export_corpus.mjs (the demo's split, bytes = tokens, vocabulary 256).
Each rank draws its own random windows (seeded by --seed, the step and the rank); the held-out loss is over the first
--eval-windows consecutive windows, split evenly over the ranks.

--backend reference swaps fla for packages/linear-rnn/fixtures/fla_reference.py, a pure-PyTorch transcription of fla's
model with the same parameter names (a per-token loop: slow, but it runs on CPU); it exists for the CPU smoke test of
this script's FSDP, data, schedule and checkpoint path, not for real training.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import sys
import time
import traceback

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))


class TrainError(Exception):
    """A problem the user can fix (missing corpus, bad argument, missing package): printed without a traceback."""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', default=os.path.join(ROOT, '.peers', 'corpus'),
                   help='folder with brown-train.txt and brown-heldout.txt (export_corpus.mjs)')
    p.add_argument('--out', required=True, help='checkpoint folder: config.json, model.safetensors, train_log.json')
    p.add_argument('--backend', choices=['fla', 'reference'], default='fla')
    p.add_argument('--device', choices=['auto', 'cuda', 'cpu'], default='auto')
    p.add_argument('--model', choices=['gated_deltanet', 'delta_net'], default='gated_deltanet',
                   help='fla model: delta_net trains on Hopper with Triton < 3.7.1, where gated_deltanet cannot (see top)')
    # model: fla GatedDeltaNetConfig keys (DeltaNet: the same head sizes, through expand_k / expand_v)
    p.add_argument('--hidden-size', type=int, default=256)
    p.add_argument('--num-layers', type=int, default=4)
    p.add_argument('--num-heads', type=int, default=4)
    p.add_argument('--head-dim', type=int, default=64)
    p.add_argument('--num-v-heads', type=int, default=None)
    p.add_argument('--expand-v', type=float, default=1.0)
    p.add_argument('--hidden-ratio', type=int, default=4)
    p.add_argument('--intermediate-size', type=int, default=None)
    # optimisation
    p.add_argument('--batch', type=int, default=32, help='sequences per rank and step')
    p.add_argument('--seq-len', type=int, default=512)
    p.add_argument('--steps', type=int, default=3000, help='length of the cosine schedule, and the most steps run')
    p.add_argument('--max-seconds', type=float, default=300.0, help='training time box (the save comes after it)')
    p.add_argument('--lr', type=float, default=2e-3)
    p.add_argument('--min-lr-ratio', type=float, default=0.1)
    p.add_argument('--warmup', type=int, default=100)
    p.add_argument('--weight-decay', type=float, default=0.1)
    p.add_argument('--grad-clip', type=float, default=1.0)
    p.add_argument('--amp', choices=['auto', 'bf16', 'none'], default='auto', help='auto: bf16 on cuda, none on cpu')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--log-every', type=int, default=10)
    p.add_argument('--eval-every', type=int, default=250)
    p.add_argument('--eval-windows', type=int, default=64)
    p.add_argument('--fsdp', choices=['auto', '2', '1'], default='auto', help='auto: FSDP2 if available, else FSDP1')
    args = p.parse_args(argv)
    for name in ('hidden_size', 'num_layers', 'num_heads', 'head_dim', 'batch', 'seq_len', 'steps', 'log_every',
                 'eval_every', 'eval_windows'):
        if getattr(args, name) < 1:
            p.error(f'--{name.replace("_", "-")} must be >= 1, received {getattr(args, name)}')
    if args.max_seconds <= 0 or args.lr <= 0:
        p.error(f'--max-seconds and --lr must be > 0, received {args.max_seconds} and {args.lr}')
    return args


# ---------------------------------------------------------------- distributed set-up

def init_distributed(args):
    """torchrun's environment, or a world of one when started with plain python."""
    if 'RANK' not in os.environ:
        os.environ.update(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1')
        if 'MASTER_PORT' not in os.environ:
            with socket.socket() as s:
                s.bind(('127.0.0.1', 0))
                os.environ['MASTER_PORT'] = str(s.getsockname()[1])
    rank, local_rank, world = int(os.environ['RANK']), int(os.environ['LOCAL_RANK']), int(os.environ['WORLD_SIZE'])
    want_cuda = args.device == 'cuda' or (args.device == 'auto' and torch.cuda.is_available())
    if want_cuda:
        if not torch.cuda.is_available():
            raise TrainError('--device cuda: torch sees no CUDA device')
        if local_rank >= torch.cuda.device_count():
            raise TrainError(f'LOCAL_RANK {local_rank} but only {torch.cuda.device_count()} CUDA devices: '
                             f'--nproc_per_node must not exceed the GPU count')
        torch.cuda.set_device(local_rank)
        device = torch.device('cuda', local_rank)
    else:
        device = torch.device('cpu')
    dist.init_process_group(backend='nccl' if device.type == 'cuda' else 'gloo')
    return rank, world, device


def say(rank, *parts):
    if rank == 0:
        print(*parts, flush=True)


# ---------------------------------------------------------------- model

def model_config(args) -> dict:
    """The GatedDeltaNetConfig (DeltaNetConfig) keys this script sets; everything else keeps fla's default."""
    if args.model == 'delta_net':
        # DeltaNet sizes its heads as int(hidden_size * expand_k) / num_heads: the same key and value head sizes as
        # GatedDeltaNet's head_dim and expand_v, where that product is exact
        key, value = args.num_heads * args.head_dim, args.num_heads * args.head_dim * args.expand_v
        expand_k, expand_v = key / args.hidden_size, value / args.hidden_size
        if args.num_v_heads is not None or int(args.hidden_size * expand_k) != key or int(args.hidden_size * expand_v) != value:
            raise TrainError(f'--model delta_net takes no --num-v-heads, and needs key / value widths ({key}, {value:g}) '
                             f'that hidden_size x (width / hidden_size) gives back exactly')
        return dict(model_type='delta_net', vocab_size=256, hidden_size=args.hidden_size,
                    num_hidden_layers=args.num_layers, num_heads=args.num_heads, expand_k=expand_k, expand_v=expand_v,
                    use_gate=True, conv_size=4, hidden_ratio=args.hidden_ratio, intermediate_size=args.intermediate_size,
                    norm_eps=1e-6, tie_word_embeddings=False, allow_neg_eigval=False)
    return dict(model_type='gated_deltanet', vocab_size=256, hidden_size=args.hidden_size,
                num_hidden_layers=args.num_layers, num_heads=args.num_heads, head_dim=args.head_dim,
                num_v_heads=args.num_v_heads, expand_v=args.expand_v, use_gate=True, conv_size=4,
                hidden_ratio=args.hidden_ratio, intermediate_size=args.intermediate_size, norm_eps=1e-6,
                tie_word_embeddings=False, allow_neg_eigval=False)


def check_gated_backward(device) -> None:
    """fla's gated chunk backward raises on Hopper with 3.4.0 <= Triton < 3.7.1 unless tilelang takes it (fla #640):
    say so before any model is built, with the way round it, rather than at the first backward."""
    import importlib.util
    from fla.utils import IS_NVIDIA_HOPPER, TRITON_ABOVE_3_4_0, TRITON_ABOVE_3_7_1
    import triton
    tilelang = (importlib.util.find_spec('tilelang') is not None and os.environ.get('FLA_TILELANG', '1') != '0'
                and os.environ.get('FLA_DISABLE_BACKEND_DISPATCH') != '1')
    if device.type == 'cuda' and IS_NVIDIA_HOPPER and TRITON_ABOVE_3_4_0 and not TRITON_ABOVE_3_7_1 and not tilelang:
        raise TrainError(f'fla cannot train GatedDeltaNet here: Triton {triton.__version__} on a Hopper GPU miscompiles '
                         'its gated chunk_bwd_dqkwg (fla issue #640; fixed in Triton 3.7.1, or install tilelang). '
                         'Pass --model delta_net (fla DeltaNet, no decay gate: its backward avoids that kernel)')


def build_model(args, seed, device):
    """→ (model, config.json dict, block class, logits_fn(model, ids) → [B, L, V]). Same initial weights on every rank."""
    cfg = model_config(args)
    torch.manual_seed(seed)
    if args.backend == 'fla':
        try:
            if args.model == 'delta_net':
                from fla.models import DeltaNetConfig as Config, DeltaNetForCausalLM as ForCausalLM
                from fla.models.delta_net.modeling_delta_net import DeltaNetBlock as Block
            else:
                from fla.models import GatedDeltaNetConfig as Config, GatedDeltaNetForCausalLM as ForCausalLM
                from fla.models.gated_deltanet.modeling_gated_deltanet import GatedDeltaNetBlock as Block
        except Exception as e:  # noqa: BLE001 - any import failure gets the same hint
            raise TrainError(f'cannot import fla ({type(e).__name__}: {e}). Put fla\'s source and einops on PYTHONPATH, '
                             'e.g. PYTHONPATH=/tmp/site:$PWD/.peers (see examples/pytorch/README.md)') from e
        if args.model == 'gated_deltanet':
            check_gated_backward(device)
        kw = {k: v for k, v in cfg.items() if k != 'model_type'}
        config = Config(attn_mode='chunk', **kw)
        model = ForCausalLM(config)  # fla's _init_weights: normal(0.02) (GatedDeltaNet: its A_log / dt_bias init)
        config_json = json.loads(config.to_json_string(use_diff=False))
        if not config_json.get('architectures'):  # transformers writes null for a config built in code
            config_json['architectures'] = [ForCausalLM.__name__]
        return model, config_json, Block, lambda m, ids: m(input_ids=ids, use_cache=False).logits
    sys.path.insert(0, os.path.join(ROOT, 'packages', 'linear-rnn', 'fixtures'))
    import fla_reference as ref
    model = ref.ForCausalLM(cfg)
    for mod in model.modules():  # fla's _init_weights for Linear / Conv1d / Embedding
        if isinstance(mod, (nn.Linear, nn.Conv1d, nn.Embedding)):
            nn.init.normal_(mod.weight, mean=0.0, std=0.02)
    config_json = {k: v for k, v in cfg.items() if v is not None}
    config_json['architectures'] = ['DeltaNetForCausalLM' if args.model == 'delta_net' else 'GatedDeltaNetForCausalLM']
    return model, config_json, ref.Block, lambda m, ids: m(ids)


def shard(model, block_cls, device, args):
    """FSDP2 (fully_shard per block, then the root) or FSDP1 with the same wrapping. → (model, 'fsdp2' | 'fsdp1')."""
    fully_shard = None
    if args.fsdp in ('auto', '2'):
        try:
            from torch.distributed.fsdp import fully_shard
        except ImportError:
            try:
                from torch.distributed._composable.fsdp import fully_shard
            except ImportError:
                if args.fsdp == '2':
                    raise TrainError(f'--fsdp 2: torch {torch.__version__} has no fully_shard') from None
    if fully_shard is not None:
        from torch.distributed.device_mesh import init_device_mesh
        mesh = init_device_mesh(device.type, (dist.get_world_size(),))
        model.to(device)
        for block in [m for m in model.modules() if isinstance(m, block_cls)]:
            fully_shard(block, mesh=mesh)
        fully_shard(model, mesh=mesh)
        return model, 'fsdp2'
    if device.type != 'cuda':
        raise TrainError(f'FSDP1 (--fsdp 1, or a torch without fully_shard: {torch.__version__}) runs on GPUs only')
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
    from torch.distributed.fsdp.wrap import ModuleWrapPolicy
    model = FSDP(model.to(device), auto_wrap_policy=ModuleWrapPolicy({block_cls}), use_orig_params=True, device_id=device)
    return model, 'fsdp1'


def clean_name(name: str) -> str:
    return name.replace('_fsdp_wrapped_module.', '').replace('_checkpoint_wrapped_module.', '')


def make_optimizer(model, no_decay: set, args):
    decay, rest = [], []
    for name, p in model.named_parameters():
        (rest if clean_name(name) in no_decay else decay).append(p)
    groups = [{'params': decay, 'weight_decay': args.weight_decay}, {'params': rest, 'weight_decay': 0.0}]
    opt = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    def lr_factor(step):  # linear warm-up, then cosine from 1 to min_lr_ratio at --steps
        if step < args.warmup:
            return (step + 1) / args.warmup
        t = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
        return args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)


def clip_grads(model, flavour, max_norm):
    if flavour == 'fsdp1':
        norm = model.clip_grad_norm_(max_norm)
    else:
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    return norm  # FSDP2: a DTensor; read it (a collective) only when logging


def norm_value(norm) -> float:
    full = getattr(norm, 'full_tensor', None)
    return float(full() if full is not None else norm)


# ---------------------------------------------------------------- data

def read_corpus(folder: str, name: str) -> torch.Tensor:
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        raise TrainError(f'{path} not found: export the corpus first with `node examples/pytorch/export_corpus.mjs '
                         f'{folder}` (after `pnpm build`) and carry it')
    with open(path, 'rb') as f:
        data = f.read()
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


def train_batch(data, step, rank, args):
    """--batch windows of seq_len + 1 bytes at offsets drawn from (seed, step, rank): → inputs, targets [B, L] int64."""
    span = data.numel() - args.seq_len - 1
    if span <= 0:
        raise TrainError(f'the training text ({data.numel()} bytes) is shorter than one window of {args.seq_len + 1}')
    g = torch.Generator().manual_seed((args.seed * 1_000_003 + step) * 4099 + rank)
    off = torch.randint(0, span + 1, (args.batch,), generator=g)
    win = data[off[:, None] + torch.arange(args.seq_len + 1)].long()
    return win[:, :-1], win[:, 1:]


def heldout_windows(data, rank, world, args):
    """The first eval_windows consecutive windows (as the demo's heldOutWindows), the same count on every rank."""
    n = min(args.eval_windows, (data.numel() - 1) // args.seq_len)
    n -= n % world
    if n == 0:
        raise TrainError(f'the held-out text ({data.numel()} bytes) has fewer than {world} windows of {args.seq_len + 1}')
    starts = torch.arange(n)[rank::world] * args.seq_len
    win = data[starts[:, None] + torch.arange(args.seq_len + 1)].long()
    return win[:, :-1], win[:, 1:]


# ---------------------------------------------------------------- checkpoint

def atomic_write(path: str, write):
    tmp = f'{path}.tmp{os.getpid()}'
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path: str, obj):
    def w(tmp):
        with open(tmp, 'w') as f:
            json.dump(obj, f, indent=1)
            f.write('\n')
    atomic_write(path, w)


def save_checkpoint(model, config_json, out, rank):
    """Gathers the full state dict onto rank 0's CPU (a collective: every rank calls it) and writes fla's layout."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
    sd = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if rank != 0:
        return None
    from safetensors.torch import save_file
    tensors = {clean_name(k): v.detach().to(torch.float32).contiguous() for k, v in sd.items()}
    os.makedirs(out, exist_ok=True)
    atomic_write(os.path.join(out, 'model.safetensors'), lambda tmp: save_file(tensors, tmp, metadata={'format': 'pt'}))
    write_json(os.path.join(out, 'config.json'), config_json)
    return {'tensors': len(tensors), 'parameters': sum(t.numel() for t in tensors.values()),
            'bytes': os.path.getsize(os.path.join(out, 'model.safetensors'))}


# ---------------------------------------------------------------- training

def run(args):
    rank, world, device = init_distributed(args)
    amp = args.amp if args.amp != 'auto' else ('bf16' if device.type == 'cuda' else 'none')
    if device.type == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = True
    say(rank, f'train_fsdp: world {world}, device {device.type}'
              f'{" (" + torch.cuda.get_device_name(device) + ")" if device.type == "cuda" else ""}, '
              f'torch {torch.__version__}, backend {args.backend}, amp {amp}')

    train = read_corpus(args.data, 'brown-train.txt')
    held = read_corpus(args.data, 'brown-heldout.txt')
    ex, ey = heldout_windows(held, rank, world, args)

    model, config_json, block_cls, logits_fn = build_model(args, args.seed, device)
    # names, not shapes: FSDP1 flattens parameters, so 1-D (norm weights, A_log, dt_bias) is decided before sharding
    no_decay = {n for n, p in model.named_parameters() if p.ndim < 2}
    n_params = sum(p.numel() for p in model.parameters())
    model, flavour = shard(model, block_cls, device, args)
    opt, sched = make_optimizer(model, no_decay, args)
    say(rank, f'train_fsdp: {n_params / 1e6:.2f}M parameters, {flavour}, {args.batch}x{args.seq_len} bytes per rank '
              f'and step, {world * args.batch * args.seq_len} per step')

    autocast = (torch.autocast(device_type=device.type, dtype=torch.bfloat16) if amp == 'bf16'
                else torch.autocast(device_type=device.type, enabled=False))

    def loss_of(x, y):
        with autocast:
            logits = logits_fn(model, x.to(device, non_blocking=True))
        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.to(device, non_blocking=True).reshape(-1))

    def evaluate():
        model.eval()
        tot = torch.zeros(2, device=device, dtype=torch.float64)
        with torch.no_grad():
            for i in range(0, ex.shape[0], args.batch):
                x, y = ex[i:i + args.batch], ey[i:i + args.batch]
                tot[0] += loss_of(x, y).double() * y.numel()
                tot[1] += y.numel()
        dist.all_reduce(tot)
        model.train()
        loss = float(tot[0] / tot[1])
        return {'heldout_loss': loss, 'heldout_bpb': loss / math.log(2)}

    log = {'script': 'examples/pytorch/train_fsdp.py', 'args': vars(args), 'config': config_json, 'world_size': world,
           'device': torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu', 'torch': torch.__version__,
           'fsdp': flavour, 'amp': amp, 'parameters': n_params, 'train': [], 'eval': []}
    if rank == 0:
        os.makedirs(args.out, exist_ok=True)
    log_path = os.path.join(args.out, 'train_log.json')

    model.train()
    t0 = time.perf_counter()
    acc = torch.zeros(2, device=device, dtype=torch.float64)  # loss sum, steps since the last log
    step, stop_reason, first_step_s = 0, 'steps', None
    while step < args.steps:
        x, y = train_batch(train, step, rank, args)
        loss = loss_of(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = clip_grads(model, flavour, args.grad_clip)
        opt.step()
        sched.step()
        acc[0] += loss.detach().double()
        acc[1] += 1
        step += 1
        if first_step_s is None:
            first_step_s = time.perf_counter() - t0  # includes Triton's compiles
        last = step == args.steps
        if step % args.log_every == 0 or last:
            # one collective: every rank's loss sum, and rank 0's clock decides the stop for all ranks
            over = float(rank == 0 and time.perf_counter() - t0 > args.max_seconds)
            red = torch.tensor([float(acc[0]), float(acc[1]), over], device=device, dtype=torch.float64)
            dist.all_reduce(red)
            mean = float(red[0] / red[1])
            if not math.isfinite(mean):
                raise TrainError(f'the loss is {mean} at step {step}: lower --lr or check the data')
            elapsed = time.perf_counter() - t0
            row = {'step': step, 'loss': mean, 'lr': sched.get_last_lr()[0], 'grad_norm': norm_value(gnorm),
                   'tokens': step * world * args.batch * args.seq_len, 'seconds': round(elapsed, 3)}
            log['train'].append(row)
            say(rank, json.dumps(row))
            acc.zero_()
            if red[2] > 0 and not last:
                stop_reason = 'max_seconds'
                break
        if step % args.eval_every == 0:
            e = {'step': step, **evaluate(), 'seconds': round(time.perf_counter() - t0, 3)}
            log['eval'].append(e)
            say(rank, json.dumps(e))
            if rank == 0:
                write_json(log_path, log)
    train_s = time.perf_counter() - t0
    if not log['eval'] or log['eval'][-1]['step'] != step:
        e = {'step': step, **evaluate(), 'seconds': round(time.perf_counter() - t0, 3)}
        log['eval'].append(e)
        say(rank, json.dumps(e))
    saved = save_checkpoint(model, config_json, args.out, rank)
    if rank == 0:
        tokens = step * world * args.batch * args.seq_len
        log['summary'] = {'steps': step, 'stopped_by': stop_reason, 'train_seconds': round(train_s, 2),
                          'first_step_seconds': round(first_step_s or 0.0, 2), 'tokens': tokens,
                          'tokens_per_second': round(tokens / max(train_s, 1e-9)), 'checkpoint': saved,
                          'final_train_loss': log['train'][-1]['loss'] if log['train'] else None,
                          'final_heldout_bpb': log['eval'][-1]['heldout_bpb']}
        write_json(log_path, log)
        say(rank, json.dumps({'summary': log['summary'], 'out': os.path.abspath(args.out)}))
    dist.barrier()


def main(argv=None) -> int:
    args = parse_args(argv)
    rank = os.environ.get('RANK', '0')
    try:
        run(args)
        return 0
    except TrainError as e:
        print(f'[rank {rank}] train_fsdp: error: {e}', file=sys.stderr, flush=True)
        return 2
    except Exception:  # noqa: BLE001 - print it whole, on every rank, then leave the process group
        print(f'[rank {rank}] train_fsdp: failed:\n{traceback.format_exc()}', file=sys.stderr, flush=True)
        return 1
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


if __name__ == '__main__':
    sys.exit(main())
