"""Runs a checkpoint written by train_fsdp.py through PyTorch on a fixed prompt and writes the logits for Tessera to compare.

    PYTHONPATH=/tmp/site:$PWD/.peers python3 examples/pytorch/compare_logits.py runs/gdn-brown [--out DIR]

Loads config.json + model.safetensors into fla's GatedDeltaNetForCausalLM or DeltaNetForCausalLM (by config.json's
model_type; strict: every tensor by fla's name) in float32, eval mode, TF32 off, and runs the prompt's bytes. fla mode: the prompt plus the greedy continuation stay
<= 64 tokens and attn_mode is set to 'fused_recurrent', so every forward here takes fla's fp32 fused_recurrent path
(fla's layers switch to it by themselves for L <= 64 in eval mode; its chunk kernels are bf16-only). The forward has
no backward, so fla's Hopper + Triton < 3.7.1 guard on the gated backward (train_fsdp.py) does not apply here.

Writes <out>/logits.safetensors (default out: the checkpoint folder):
  input_ids   int32 [1, P]      the prompt's UTF-8 bytes
  logits      float32 [1, P, 256]  the model's logits for them
  greedy_ids  int32 [G]         G greedy bytes after the prompt (each from a full forward of prompt + bytes so far)
and prints one JSON line. check_tessera.mjs compares Tessera's forward / step against these (relative error <= 1e-3:
max |Tessera - PyTorch| / max |PyTorch|) and the greedy ids.

--backend reference uses packages/linear-rnn/fixtures/fla_reference.py (pure PyTorch, CPU; --dtype float64 makes it
an exact reference) instead of fla: the CPU smoke test of the whole loop.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
PROMPT = 'The jury said it did find that '
FUSED_RECURRENT_MAX_LEN = 64  # fla/layers/gated_deltanet.py: mode = 'fused_recurrent' if q_len <= 64 and eval


def load_model(ckpt: str, backend: str, dtype: torch.dtype, device: str):
    from safetensors.torch import load_file
    with open(os.path.join(ckpt, 'config.json')) as f:
        cfg = json.load(f)
    kind = cfg.get('model_type')
    if kind not in ('gated_deltanet', 'delta_net'):
        raise SystemExit(f'compare_logits: {ckpt}/config.json: model_type {kind!r}, expected "gated_deltanet" or "delta_net"')
    sd = load_file(os.path.join(ckpt, 'model.safetensors'))
    if backend == 'fla':
        if kind == 'delta_net':
            from fla.models import DeltaNetConfig as Config, DeltaNetForCausalLM as ForCausalLM
        else:
            from fla.models import GatedDeltaNetConfig as Config, GatedDeltaNetForCausalLM as ForCausalLM
        kw = {k: v for k, v in cfg.items() if k not in ('model_type', 'architectures')}
        kw['attn_mode'] = 'fused_recurrent'
        model = ForCausalLM(Config(**kw))
        forward = lambda m, ids: m(input_ids=ids, use_cache=False).logits  # noqa: E731
    else:
        sys.path.insert(0, os.path.join(ROOT, 'packages', 'linear-rnn', 'fixtures'))
        import fla_reference as ref
        model = ref.ForCausalLM(cfg)
        forward = lambda m, ids: m(ids)  # noqa: E731
    tied = bool(cfg.get('tie_word_embeddings'))
    result = model.load_state_dict(sd, strict=False)
    missing = [k for k in result.missing_keys if not (tied and k == 'lm_head.weight')]
    if missing or result.unexpected_keys:
        raise SystemExit(f'compare_logits: checkpoint does not match the model: missing {missing}, '
                         f'unexpected {result.unexpected_keys}')
    model = model.to(device=device, dtype=dtype).eval()
    return model, forward


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('ckpt')
    p.add_argument('--out', default=None)
    p.add_argument('--prompt', default=PROMPT)
    p.add_argument('--greedy', type=int, default=32)
    p.add_argument('--backend', choices=['fla', 'reference'], default='fla')
    p.add_argument('--dtype', choices=['float32', 'float64'], default='float32')
    args = p.parse_args(argv)
    ids = list(args.prompt.encode('utf-8'))
    if args.backend == 'fla' and len(ids) + args.greedy - 1 > FUSED_RECURRENT_MAX_LEN:
        raise SystemExit(f'compare_logits: prompt ({len(ids)} bytes) + --greedy {args.greedy} - 1 exceeds '
                         f'{FUSED_RECURRENT_MAX_LEN}: fla would leave its fp32 fused_recurrent path')
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    torch.backends.cuda.matmul.allow_tf32 = False  # TF32 would move the logits by ~1e-3
    torch.backends.cudnn.allow_tf32 = False
    model, forward = load_model(args.ckpt, args.backend, getattr(torch, args.dtype), device)
    x = torch.tensor([ids], dtype=torch.long, device=device)
    with torch.no_grad():
        logits = forward(model, x).float().cpu()
        seq, greedy = x, []
        for _ in range(args.greedy):
            nxt = int(forward(model, seq)[0, -1].argmax())
            greedy.append(nxt)
            seq = torch.cat([seq, torch.tensor([[nxt]], device=device)], dim=1)
    out = args.out or args.ckpt
    os.makedirs(out, exist_ok=True)
    from safetensors.torch import save_file
    path = os.path.join(out, 'logits.safetensors')
    tensors = {'input_ids': torch.tensor([ids], dtype=torch.int32), 'logits': logits.contiguous(),
               'greedy_ids': torch.tensor(greedy, dtype=torch.int32)}
    meta = {'prompt': args.prompt, 'backend': args.backend, 'dtype': args.dtype, 'device': device,
            'fla_mode': 'fused_recurrent' if args.backend == 'fla' else 'reference (per-token recurrence)'}
    save_file(tensors, path + '.tmp', metadata=meta)
    os.replace(path + '.tmp', path)
    text = bytes(greedy).decode('utf-8', errors='replace')
    print(json.dumps({**meta, 'out': path, 'prompt_len': len(ids), 'greedy_text': text,
                      'max_abs_logit': float(logits.abs().max())}), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
