"""PyTorch reference for the MERT GPU benchmark (bench/gpu/mert/run.sh; needs torch, transformers, safetensors).

Builds a MERT-v1-330M-shaped HubertModel (group-norm conv features, stable layer norm, weight-normed positional
conv 128/16) with seeded random weights, saves it as the TS builder reads it (weight_g/weight_v like MERT's own
checkpoint), a 30 s test signal, and the pooled MusiLingo features (mean of the 25 hidden states in MusiLingo's
order, 325-frame means) in fp32 and fp16, with timings on this GPU.
"""
import json, math, os, sys, time
import torch
from safetensors.torch import save_file
from transformers import HubertConfig, HubertModel

out = sys.argv[1]
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
os.makedirs(out, exist_ok=True)
torch.manual_seed(1234)
cfg = HubertConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                   hidden_act='gelu', feat_extract_activation='gelu', conv_dim=(512,) * 7,
                   conv_kernel=(10, 3, 3, 3, 3, 2, 2), conv_stride=(5, 2, 2, 2, 2, 2, 2), conv_bias=False,
                   feat_extract_norm='group', do_stable_layer_norm=True, feat_proj_layer_norm=True,
                   num_conv_pos_embeddings=128, num_conv_pos_embedding_groups=16, layer_norm_eps=1e-5,
                   hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0,
                   layerdrop=0.0, apply_spec_augment=False)
model = HubertModel(cfg).eval()
with torch.no_grad():
    for n, p in model.named_parameters():
        if 'norm' in n and n.endswith('weight'):
            p.copy_(1.0 + 0.05 * torch.randn_like(p))
        elif 'conv_layers' in n and n.endswith('conv.weight'):
            p.copy_(torch.randn_like(p) * (1.0 / math.sqrt(p.shape[1] * p.shape[2])))
        else:
            p.copy_(torch.randn_like(p) * 0.02)
sd = {k.replace('parametrizations.weight.original0', 'weight_g').replace('parametrizations.weight.original1', 'weight_v'): v.detach().float().contiguous()
      for k, v in model.state_dict().items()}
save_file(sd, os.path.join(out, 'model.safetensors'))
c = cfg.to_dict(); c.update({'sample_rate': 24000})
json.dump(c, open(os.path.join(out, 'config.json'), 'w'))

sr = 24000; t = torch.arange(int(seconds * sr)) / sr
g = torch.Generator().manual_seed(7)
audio = (0.3 * torch.sin(2 * math.pi * 220 * t) + 0.2 * torch.sin(2 * math.pi * 331 * t)
         + 0.1 * torch.sin(2 * math.pi * (100 + 40 * t) * t) + 0.05 * torch.randn(t.shape, generator=g)).float()
audio.numpy().tofile(os.path.join(out, 'audio.f32'))

info = {'device': torch.cuda.get_device_name(0), 'torch': torch.__version__, 'transformers': __import__('transformers').__version__}
model = model.cuda()
for dt, tag in ((torch.float32, 'fp32'), (torch.float16, 'fp16')):
    model = model.to(dt)
    captured = []
    hooks = [l.register_forward_pre_hook(lambda m, a: captured.append(a[0].float())) for l in model.encoder.layers]
    hooks.append(model.encoder.layer_norm.register_forward_hook(lambda m, a, o: captured.append(o.float())))
    x = audio.to('cuda', dt)[None]
    with torch.inference_mode():
        model(x); torch.cuda.synchronize()
        captured.clear()
        model(x); torch.cuda.synchronize()
        hs = torch.stack(captured)[:, 0]
        mean = hs.mean(0)
        pooled = torch.stack([mean[i:i + 325].mean(0) for i in range(0, mean.shape[0], 325)])
        pooled.cpu().numpy().tofile(os.path.join(out, f'torch_pooled_{tag}.f32'))
        for h in hooks: h.remove()
        for B in (1, 4):
            xb = x.repeat(B, 1)
            model(xb); torch.cuda.synchronize()
            t0 = time.time(); n = 5
            for _ in range(n): model(xb, output_hidden_states=True)
            torch.cuda.synchronize(); dtm = (time.time() - t0) / n
            info[f'{tag}_batch{B}_ms'] = round(dtm * 1000, 1)
            info[f'{tag}_batch{B}_x_realtime'] = round(B * seconds / dtm)
    info[f'{tag}_frames'] = int(hs.shape[1])
json.dump(info, open(os.path.join(out, 'torch.json'), 'w'))
print('torch_ref', info)
