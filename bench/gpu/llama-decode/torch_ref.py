# PyTorch reference for bench/gpu/llama-decode (NOT RUN in development): HF LlamaForCausalLM in Vicuna-7B's shape
# (LLaMA-1 7B, vocab 32001), random weights, fp16, greedy generate from 40 random prompt embeddings.
# Writes <workdir>/torch.json: decode_tok_per_s_b{B}, prefill_ms_b{B}, peak_mib.
import json, sys, time, torch
from transformers import LlamaConfig, LlamaForCausalLM
work = sys.argv[1]; P = 40; N = int(sys.argv[2]) if len(sys.argv) > 2 else 128
torch.manual_seed(0)
cfg = LlamaConfig(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
                  vocab_size=32001, max_position_embeddings=2048, rms_norm_eps=1e-6)
torch.set_default_dtype(torch.float16)
with torch.device('cuda'):
    lm = LlamaForCausalLM(cfg).eval()
res = {}
def sync(): torch.cuda.synchronize()
for B in (1, 8):
    emb = torch.randn(B, P, 4096, device='cuda', dtype=torch.float16) * 0.02
    mask = torch.ones(B, P, dtype=torch.long, device='cuda')
    with torch.inference_mode():
        lm.generate(inputs_embeds=emb, attention_mask=mask, max_new_tokens=4, min_new_tokens=4, do_sample=False); sync()
        torch.cuda.reset_peak_memory_stats()
        t0 = time.time(); lm.generate(inputs_embeds=emb, attention_mask=mask, max_new_tokens=1, min_new_tokens=1, do_sample=False); sync(); tp = time.time() - t0
        t0 = time.time(); out = lm.generate(inputs_embeds=emb, attention_mask=mask, max_new_tokens=N, min_new_tokens=N, do_sample=False); sync(); tg = time.time() - t0
    res[f'prefill_ms_b{B}'] = tp * 1000
    res[f'decode_tok_per_s_b{B}'] = (N - 1) / (tg - tp)
    res['peak_mib'] = max(res.get('peak_mib', 0), torch.cuda.max_memory_allocated() / 2**20)
    print(f'PyTorch fp16 HF generate batch {B}: prefill {tp*1000:.0f} ms, decode {res[f"decode_tok_per_s_b{B}"]:.1f} tok/s per sequence, peak {res["peak_mib"]:.0f} MiB')
json.dump(res, open(f'{work}/torch.json', 'w'))
