"""An XTTS-v2-shaped GPT with random weights (no model download), for `npm run bench -- finetune`.

It follows coqui-ai-TTS's training forward pass (TTS/tts/layers/xtts/gpt.py): conditioning
encoder (tortoise AttentionBlock x6 over 517 mel frames) -> perceiver resampler (32 latents) ->
[latents | text embeddings | mel-code embeddings] -> Hugging Face GPT-2 (30 x 1024, 16 heads,
dropout 0.1) -> final_norm -> text and mel heads -> cross-entropy. It counts the bytes autograd
saves for backward (saved_tensors_hooks; each storage once, parameters and buffers excluded;
dropout masks 1 byte, as on CUDA, by routing dropout through torch.native_dropout).
On a CUDA machine it also runs two real AdamW steps and reports torch.cuda.max_memory_allocated().

Usage: python finetune_replica.py '{"cases": [{"clip_seconds": 4, "text_tokens": 37, "attention": "eager"}], "batch": 1}'
Prints one JSON object.
"""
import json
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from transformers import GPT2Config, GPT2Model

import os

H, HEADS = 1024, 16
LAYERS = int(os.environ.get("CHORUS_REPLICA_LAYERS", "30"))  # fewer only for a quick smoke test of this script
TEXT_VOCAB, AUDIO_VOCAB = 6681, 1026
COND_FRAMES, LATENTS = 132300 // 256 + 1, 32


def native_dropout(input, p=0.5, training=True, inplace=False):
    if not training or p == 0:
        return input
    return torch.native_dropout(input, p, True)[0]


F.dropout = native_dropout  # nn.Dropout and transformers call F.dropout at run time


class GroupNorm32(nn.GroupNorm):
    def forward(self, x):
        return super().forward(x.float()).type(x.dtype)


class QKVAttentionLegacy(nn.Module):
    def __init__(self, n_heads):
        super().__init__()
        self.n_heads = n_heads

    def forward(self, qkv):
        bs, width, length = qkv.shape
        ch = width // (3 * self.n_heads)
        q, k, v = qkv.reshape(bs * self.n_heads, ch * 3, length).split(ch, dim=1)
        scale = 1 / math.sqrt(math.sqrt(ch))
        weight = torch.einsum("bct,bcs->bts", q * scale, k * scale)
        weight = torch.softmax(weight.float(), dim=-1).type(weight.dtype)
        a = torch.einsum("bts,bcs->bct", weight, v)
        return a.reshape(bs, -1, length)


class AttentionBlock(nn.Module):
    def __init__(self, channels, num_heads):
        super().__init__()
        self.norm = GroupNorm32(32, channels)
        self.qkv = nn.Conv1d(channels, channels * 3, 1)
        self.attention = QKVAttentionLegacy(num_heads)
        self.proj_out = nn.Conv1d(channels, channels, 1)

    def forward(self, x):
        b, c, *spatial = x.shape
        x = self.norm(x.reshape(b, c, -1))
        h = self.proj_out(self.attention(self.qkv(x)))
        return (x + h).reshape(b, c, *spatial)


class ConditioningEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.init = nn.Conv1d(80, H, kernel_size=1)
        self.attn = nn.Sequential(*[AttentionBlock(H, HEADS) for _ in range(6)])

    def forward(self, x):
        return self.attn(self.init(x))


class PerceiverAttention(nn.Module):
    def __init__(self, dim, heads=8, dim_head=64):
        super().__init__()
        self.heads, inner = heads, heads * dim_head
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(dim, inner * 2, bias=False)
        self.to_out = nn.Linear(inner, dim, bias=False)

    def forward(self, x, context):
        context = torch.cat((x, context), dim=-2)  # cross_attn_include_queries
        q, k, v = (self.to_q(x), *self.to_kv(context).chunk(2, dim=-1))
        b = x.shape[0]
        q, k, v = (t.view(b, t.shape[1], self.heads, -1).permute(0, 2, 1, 3) for t in (q, k, v))
        sim = torch.einsum("b h i d, b h j d -> b h i j", q, k) * q.shape[-1] ** -0.5
        attn = sim.softmax(dim=-1)
        out = torch.einsum("b h i j, b h j d -> b h i d", attn, v)
        return self.to_out(out.permute(0, 2, 1, 3).reshape(b, out.shape[2], -1))


class GEGLU(nn.Module):
    def forward(self, x):
        x, gate = x.chunk(2, dim=-1)
        return F.gelu(gate) * x


class Perceiver(nn.Module):
    def __init__(self, dim=H, depth=2):
        super().__init__()
        inner = int(dim * 4 * 2 / 3)
        self.latents = nn.Parameter(torch.randn(LATENTS, dim))
        self.layers = nn.ModuleList(
            nn.ModuleList([PerceiverAttention(dim), nn.Sequential(nn.Linear(dim, inner * 2), GEGLU(), nn.Linear(inner, dim))]) for _ in range(depth)
        )
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        latents = self.latents.unsqueeze(0).expand(x.shape[0], -1, -1)
        for attn, ff in self.layers:
            latents = attn(latents, x) + latents
            latents = ff(latents) + latents
        return F.normalize(latents, dim=-1) * (latents.shape[-1] ** 0.5) * self.gamma


class NullPositions(nn.Module):
    def forward(self, position_ids):
        return torch.zeros((position_ids.shape[0], position_ids.shape[1], H), device=position_ids.device)


class XttsGptReplica(nn.Module):
    def __init__(self, attention):
        super().__init__()
        config = GPT2Config(vocab_size=256, n_positions=608 + 404 + 70, n_embd=H, n_layer=LAYERS, n_head=HEADS, use_cache=False)
        config._attn_implementation = attention
        self.gpt = GPT2Model(config)
        self.gpt.wpe = NullPositions()
        del self.gpt.wte
        self.conditioning_encoder = ConditioningEncoder()
        self.conditioning_perceiver = Perceiver()
        self.text_embedding = nn.Embedding(TEXT_VOCAB, H)
        self.mel_embedding = nn.Embedding(AUDIO_VOCAB, H)
        self.text_pos = nn.Embedding(404, H)
        self.mel_pos = nn.Embedding(608, H)
        self.final_norm = nn.LayerNorm(H)
        self.text_head = nn.Linear(H, TEXT_VOCAB)
        self.mel_head = nn.Linear(H, AUDIO_VOCAB)

    def forward(self, cond_mels, text, codes):
        latents = self.conditioning_perceiver(self.conditioning_encoder(cond_mels).permute(0, 2, 1))
        ti, tt = F.pad(text, (1, 0), value=6680), F.pad(text, (0, 1), value=0)
        mi, mt = F.pad(codes, (1, 0), value=1024), F.pad(codes, (0, 1), value=1025)
        pos = lambda x, emb: emb(torch.arange(0, x.shape[1], device=x.device))
        emb = torch.cat([latents, self.text_embedding(ti) + pos(ti, self.text_pos), self.mel_embedding(mi) + pos(mi, self.mel_pos)], dim=1)
        enc = self.final_norm(self.gpt(inputs_embeds=emb, return_dict=True).last_hidden_state[:, LATENTS:])
        text_logits = self.text_head(enc[:, : ti.shape[1]]).permute(0, 2, 1)
        mel_logits = self.mel_head(enc[:, ti.shape[1] :]).permute(0, 2, 1)
        return 0.01 * F.cross_entropy(text_logits, tt) + F.cross_entropy(mel_logits, mt)


def inputs(batch, clip_seconds, text_tokens, device):
    samples = round(clip_seconds * 22050)
    # text: tokens + stop (gpt.py pads the stop token before adding start/stop): T + 2 positions
    text = torch.randint(0, 6000, (batch, text_tokens + 1), device=device)
    codes = torch.randint(0, 1024, (batch, math.ceil(samples / 1024) + 3 + 1), device=device)  # + stop; + start below
    cond = torch.randn(batch, 80, COND_FRAMES, device=device)
    return cond, text, codes


def saved_bytes(model, batch, case):
    excluded = {p.untyped_storage().data_ptr() for p in model.parameters()} | {b.untyped_storage().data_ptr() for b in model.buffers()}
    seen, keep = {}, []

    def pack(t):
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in excluded and ptr not in seen:
            seen[ptr] = storage.nbytes()
        keep.append(t)  # held, as the graph would, so no address is reused
        return t

    cond, text, codes = inputs(batch, case["clip_seconds"], case["text_tokens"], "cpu")
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = model(cond, text, codes)
    total = sum(seen.values())
    del loss, keep
    return total / batch


def train_steps(case, batch, device):
    """Two real AdamW steps (foreach, AllTalk's settings); the CUDA peak, or None on a CPU."""
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    model = XttsGptReplica(case["attention"]).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-6, betas=(0.9, 0.96), eps=1e-8, weight_decay=1e-2)
    for _ in range(2):
        loss = model(*inputs(batch, case["clip_seconds"], case["text_tokens"], device))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    peak = None
    if device == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
    del model, optimizer
    if device == "cuda":
        torch.cuda.empty_cache()
    return peak


def main():
    spec = json.loads(sys.argv[1])
    batch = spec.get("batch", 1)
    torch.manual_seed(0)
    out = {"torch": torch.__version__, "cuda": torch.cuda.is_available(), "results": []}
    models = {}
    for case in spec["cases"]:
        model = models.get(case["attention"])
        if model is None:
            models.clear()
            model = models[case["attention"]] = XttsGptReplica(case["attention"]).train()
            out["params"] = sum(p.numel() for p in model.parameters())
        result = dict(case, saved_bytes_per_sample=saved_bytes(model, batch, case))
        out["results"].append(result)
    models.clear()
    device = "cuda" if torch.cuda.is_available() else spec.get("train_device")
    if device:
        for case in spec.get("cuda_cases", []):
            out.setdefault("cuda_results" if device == "cuda" else "train_smoke", []).append(dict(case, max_memory_allocated=train_steps(case, case["batch"], device)))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
