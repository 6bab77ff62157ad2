# PyTorch reference for bench/gpu/train: one adapter-training step (forward + backward to inputs_embeds, weights
# frozen) of a Vicuna-7B-shaped LlamaForCausalLM with random float16 weights on the GPU, the way MusiLingo trains
# (HF loss over answer positions, shift by one). Writes the checkpoint (so the ONNX graphs use the same weights),
# the step's inputs and outputs, and timings/peak memory to torch.json.
# Usage: python3 torch_train_ref.py <work dir>   env: LAYERS (default 32), TOKENS (default 200)
import json, os, sys, time
import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM

out = sys.argv[1]
L = int(os.environ.get('LAYERS', 32)); S = int(os.environ.get('TOKENS', 200)); A = min(60, S - 1)
os.makedirs(out, exist_ok=True)
cfg = LlamaConfig(hidden_size=4096, intermediate_size=11008, num_hidden_layers=L, num_attention_heads=32,
                  num_key_value_heads=32, vocab_size=32001, rms_norm_eps=1e-6, rope_theta=10000.0,
                  max_position_embeddings=2048, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
cfg._attn_implementation = 'eager'
torch.manual_seed(0)
t0 = time.time()
with torch.device('cuda'):
    model = LlamaForCausalLM(cfg).to(torch.float16).eval()
for p in model.parameters():
    p.requires_grad_(False)
print(f'init {time.time()-t0:.1f}s params={sum(p.numel() for p in model.parameters())/1e9:.2f}B', flush=True)
t0 = time.time()
save_file({k: v.contiguous().cpu() for k, v in model.state_dict().items()}, f'{out}/model.safetensors', metadata={'format': 'pt'})
d = cfg.to_dict(); d.pop('_attn_implementation_autoset', None); d['architectures'] = ['LlamaForCausalLM']
json.dump(d, open(f'{out}/config.json', 'w'), indent=1, default=str)
print(f'saved checkpoint {time.time()-t0:.1f}s', flush=True)
g = torch.Generator().manual_seed(1)
x = torch.randn(1, S, 4096, generator=g) * 0.02
labels = torch.full((1, S), -100, dtype=torch.long); labels[0, S - A:] = torch.randint(0, 32000, (A,), generator=g)
x.numpy().astype('float32').tofile(f'{out}/inputs_embeds.f32'); labels.numpy().astype('int64').tofile(f'{out}/labels.i64')
xc, lc = x.cuda(), labels.cuda()

def step():
    e = xc.to(torch.float16).detach().requires_grad_(True)
    loss = model(inputs_embeds=e, labels=lc).loss
    loss.backward()
    return loss, e.grad

step(); torch.cuda.synchronize()
base = torch.cuda.memory_allocated(); torch.cuda.reset_peak_memory_stats()
n = 5; t0 = time.time()
for _ in range(n):
    loss, grad = step()
torch.cuda.synchronize(); dt = (time.time() - t0) / n
grad.float().cpu().numpy().tofile(f'{out}/torch_grad.f32')
res = {'device': torch.cuda.get_device_name(0), 'torch': torch.__version__, 'layers': L, 'tokens': S, 'answer_tokens': A,
       'loss': loss.item(), 'step_ms': dt * 1000, 'weights_gib': base / 2**30,
       'peak_gib': torch.cuda.max_memory_allocated() / 2**30, 'activation_peak_gib': (torch.cuda.max_memory_allocated() - base) / 2**30}
json.dump(res, open(f'{out}/torch.json', 'w'), indent=1)
print(json.dumps(res), flush=True)
