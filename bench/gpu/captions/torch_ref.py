# PyTorch reference for bench/gpu/captions (NOT RUN in development): the reference caption pipeline on one GPU with
# random weights: MERT-v1-330M-shaped HubertModel in fp32 (hidden states of all layers, MusiLingo's mean of 25 and
# 325-frame pooling), a random llama_proj Linear(1024, 4096), then HF LlamaForCausalLM (Vicuna-7B shape, fp16)
# greedy generate from inputs_embeds [BOS + 7 text + 7 audio + 17 text], N new tokens (no early stop).
# Writes <workdir>/torch.json: clips_per_hour_b{B}, mert_ms_per_clip, decode_tok_per_s_b{B}.
import json, sys, time, torch
from transformers import HubertConfig, HubertModel, LlamaConfig, LlamaForCausalLM
work = sys.argv[1]; N = int(sys.argv[2]) if len(sys.argv) > 2 else 64; CLIPS = int(sys.argv[3]) if len(sys.argv) > 3 else 8
torch.manual_seed(0)
def sync(): torch.cuda.synchronize()
hc = HubertConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                  feat_extract_norm='group', do_stable_layer_norm=True, conv_bias=False,
                  num_conv_pos_embeddings=128, num_conv_pos_embedding_groups=16)
with torch.device('cuda'):
    mert = HubertModel(hc).eval()
    proj = torch.nn.Linear(1024, 4096)
res = {}
audio = torch.randn(1, 30 * 24000, device='cuda') * 0.1
def encode():
    with torch.inference_mode():
        hs = mert(audio, output_hidden_states=True).hidden_states  # 25 tensors [1, T, 1024]
        e = torch.stack(hs).mean(0)[0]
        T = e.shape[0]
        pooled = torch.stack([e[i:i + 325].mean(0) for i in range(0, T, 325)])
        return proj(pooled).half()
encode(); sync()
t0 = time.time()
for _ in range(CLIPS): encode()
sync(); mert_s = (time.time() - t0) / CLIPS
res['mert_ms_per_clip'] = mert_s * 1000
print(f'PyTorch MERT fp32 30 s clip: {mert_s*1000:.0f} ms (incl. pooling + adapter)')
del mert; torch.cuda.empty_cache()
cfg = LlamaConfig(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
                  vocab_size=32001, max_position_embeddings=2048, rms_norm_eps=1e-6)
torch.set_default_dtype(torch.float16)
with torch.device('cuda'):
    lm = LlamaForCausalLM(cfg).eval()
L = 1 + 7 + 7 + 17
for B in (1, 8):
    emb = torch.randn(B, L, 4096, device='cuda', dtype=torch.float16) * 0.02
    mask = torch.ones(B, L, dtype=torch.long, device='cuda')
    with torch.inference_mode():
        lm.generate(inputs_embeds=emb, attention_mask=mask, max_new_tokens=4, min_new_tokens=4, do_sample=False); sync()
        t0 = time.time(); lm.generate(inputs_embeds=emb, attention_mask=mask, max_new_tokens=N, min_new_tokens=N, do_sample=False); sync(); tg = time.time() - t0
    per_clip = mert_s + tg / B
    res[f'decode_tok_per_s_b{B}'] = B * N / tg
    res[f'clips_per_hour_b{B}'] = 3600 / per_clip
    print(f'PyTorch reference batch {B}: generate {N} tokens {tg*1000:.0f} ms ({B*N/tg:.1f} tok/s total) -> {3600/per_clip:.0f} clips/hour')
json.dump(res, open(f'{work}/torch.json', 'w'))
